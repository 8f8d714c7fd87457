#!/usr/bin/env bash
# One device call that measures the decode step's opt-in variants beside the default, on the same GPU, in the order
# that matters most when the lease is short (the device tool returns what $OUT holds even after a timeout):
#   run: bash scripts/device/decode-variants.sh        carry: [".device", "dist"]
# Builds the CUDA addon (scripts/device/gpu-run.sh build, ~150 s), then for each variant runs
# `node scripts/gpu/decode-timeline.mjs mixed B` (SPEC §7 decode model, bf16 weights; its first line is the speed in
# µs a token) and appends its output to $OUT/timelines.txt: the default beside the switches kept for measuring
# (MASKMIX_DECODE_EARLY_LAUNCH, _NORM_FIRST, _WEIGHTS_EVICT_FIRST, _HANDOVER), then batches 2 and 4; at the end the
# repeat and launch-shape checks (check-graphed-decoding.mjs --part repeat-checks, then shapes) into $OUT/check.txt.
# Each session's variants replace these (the benchmark folders keep the version that ran).
set -uo pipefail
OUT=${OUT:-/tmp/out}
export OUT
mkdir -p "$OUT"
source .device/enter.sh
bash scripts/device/gpu-run.sh build > "$OUT/gpu-run.txt" 2>&1 || { tail -30 "$OUT/gpu-run.txt"; exit 1; }
# Only the text comes back: the addon and its build log are large and not needed here.
rm -f "$OUT/build.log" "$OUT/info.json" "$OUT/doctor.txt" "$OUT/maskmix.node" "$OUT/sources"
tail -3 "$OUT/gpu-run.txt"

variant() {  # variant NAME BATCH [SETTING=VALUE ...]
  local name=$1 batch=$2
  shift 2
  echo "==== $name (batch $batch): $*" >> "$OUT/timelines.txt"
  env "$@" timeout 90 node scripts/gpu/decode-timeline.mjs mixed "$batch" "/tmp/timeline-$name.txt" > "/tmp/timeline-$name.out" 2>&1
  cat "/tmp/timeline-$name.out" >> "$OUT/timelines.txt"
  echo "== $name"
  head -1 "/tmp/timeline-$name.out"
}
checks() {  # checks PART
  timeout 150 node scripts/gpu/check-graphed-decoding.mjs --part "$1" >> "$OUT/check.txt" 2>&1
  echo "$1: exit $?"
  grep -c '^ok' "$OUT/check.txt"
  grep '^FAIL' "$OUT/check.txt" | tail -5
}

variant default 1
variant no-early-launch 1 MASKMIX_DECODE_EARLY_LAUNCH=0
variant no-norm-first 1 MASKMIX_DECODE_NORM_FIRST=0
variant no-evict-first 1 MASKMIX_DECODE_WEIGHTS_EVICT_FIRST=0
variant flag-handover 1 MASKMIX_DECODE_HANDOVER=flags
variant default-again 1
variant batch2 2
variant batch4 4
checks repeat-checks
checks shapes
tail -8 "$OUT/check.txt"
