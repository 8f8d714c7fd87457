#!/usr/bin/env bash
# One lease's measurements of the training step's switches, maskmix only, graphed: the causal products in 1, 2 or 4
# row panels (MASKMIX_MIXING_PANELS; default 1) and maskmix's AdamW kernel with bf16 weight copies (MASKMIX_ADAMW=maskmix;
# default PyTorch's fused AdamW with per-product casts), alone and together; each variant twice, alternating. First
# the GPU checks of the AdamW kernel (scripts/gpu/check-adamw.mjs).
#   run: bash scripts/device/step-variants.sh [workload ...]      carry: [".device", "dist"]
# Default workload: mixer-d1024-L8-n512-b32 (a 600 s call fits the build, the checks and its ten runs); on the warm
# machine a second call with CHECKS=0 and mixer-d1024-L16-n1024-b16 reuses the build.
# Output: $OUT/variants.txt (one line per run, scripts/device/bench-lines.mjs), $OUT/check-adamw.txt.
set -uo pipefail
OUT=${OUT:-/tmp/out}
bash scripts/device/gpu-run.sh build > "$OUT/build-call.txt" 2>&1 || { tail -30 "$OUT/build-call.txt"; exit 1; }
source .device/enter.sh
[ "${CHECKS:-1}" = 0 ] || node scripts/gpu/check-adamw.mjs 2>&1 | tee "$OUT/check-adamw.txt"
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(mixer-d1024-L8-n512-b32)
variants=("default" "MASKMIX_MIXING_PANELS=2" "MASKMIX_MIXING_PANELS=4" "MASKMIX_ADAMW=maskmix" "MASKMIX_MIXING_PANELS=4 MASKMIX_ADAMW=maskmix")
for w in "${workloads[@]}"; do
  for round in 1 2; do
    for v in "${variants[@]}"; do
      settings=(); [ "$v" = default ] || read -ra settings <<< "$v"
      env "${settings[@]}" ./bin/maskmix.js bench --workload "$w" --cuda-graph --no-reference --json > /tmp/variant.json 2>> "$OUT/variants.log"
      node scripts/device/bench-lines.mjs /tmp/variant.json "$v, round $round" | tee -a "$OUT/variants.txt" || tail -20 "$OUT/variants.log"
    done
  done
done
