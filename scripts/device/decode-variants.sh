#!/usr/bin/env bash
# One device call that measures the decode step's opt-in variants beside the default, on the same GPU, in the order
# that matters most when the lease is short (the device tool returns what $OUT holds even after a timeout):
#   run: bash scripts/device/decode-variants.sh        carry: [".device", "dist"]
# Builds the CUDA addon (scripts/device/gpu-run.sh build, ~150 s), then for each variant runs
# `node scripts/gpu/decode-timeline.mjs mixed 1` (SPEC §7 decode model, batch 1, bf16 weights; its first line is the
# speed in µs a token) and appends its output to $OUT/timelines.txt; after the first four, the split-output shape
# checks (check-graphed-decoding.mjs --part shapes, which include the cluster reduction) into $OUT/check.txt.
set -uo pipefail
OUT=${OUT:-/tmp/out}
export OUT
mkdir -p "$OUT"
source .device/enter.sh
bash scripts/device/gpu-run.sh build > "$OUT/gpu-run.txt" 2>&1 || { tail -30 "$OUT/gpu-run.txt"; exit 1; }
# Only the text comes back: the addon and its build log are large and not needed here.
rm -f "$OUT/build.log" "$OUT/info.json" "$OUT/doctor.txt" "$OUT/maskmix.node" "$OUT/sources"
tail -3 "$OUT/gpu-run.txt"

variant() {  # variant NAME [SETTING=VALUE ...]
  local name=$1
  shift
  echo "==== $name: $*" >> "$OUT/timelines.txt"
  env "$@" timeout 90 node scripts/gpu/decode-timeline.mjs mixed 1 "/tmp/timeline-$name.txt" > "/tmp/timeline-$name.out" 2>&1
  cat "/tmp/timeline-$name.out" >> "$OUT/timelines.txt"
  echo "== $name"
  head -2 "/tmp/timeline-$name.out"
}

variant default
variant prefetch2 MASKMIX_DECODE_PREFETCH=2
variant cluster8 MASKMIX_DECODE_SPLIT_OUTPUT=1 MASKMIX_DECODE_SPLIT_CLUSTER=8
variant prefetch3 MASKMIX_DECODE_PREFETCH=3
timeout 120 node scripts/gpu/check-graphed-decoding.mjs --part shapes > "$OUT/check.txt" 2>&1
echo "shape checks: exit $?"
tail -12 "$OUT/check.txt"
variant prefetch1 MASKMIX_DECODE_PREFETCH=1
variant prefetch2-entry MASKMIX_DECODE_PREFETCH=2 MASKMIX_DECODE_PREFETCH_AT=entry
variant default-again
variant split MASKMIX_DECODE_SPLIT_OUTPUT=1
variant cluster4 MASKMIX_DECODE_SPLIT_OUTPUT=1 MASKMIX_DECODE_SPLIT_CLUSTER=4
