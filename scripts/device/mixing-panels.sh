#!/usr/bin/env bash
# Times the mixers' graphed training step with the causal products cut into 1, 2 and 4 row panels
# (MASKMIX_MIXING_PANELS, ops/causal_products.h), alternating the counts twice per workload, maskmix only:
#   run: bash scripts/device/mixing-panels.sh [workload ...]      carry: [".device", "dist"]
# Output: one line per run in $OUT/panels.txt (ms per step, peak GiB, first loss).
set -uo pipefail
OUT=${OUT:-/tmp/out}
bash scripts/device/gpu-run.sh build > "$OUT/build-call.txt" 2>&1 || { tail -30 "$OUT/build-call.txt"; exit 1; }
source .device/enter.sh
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(mixer-d1024-L8-n512-b32 mixer-d1024-L16-n1024-b16)
for w in "${workloads[@]}"; do
  for round in 1 2; do
    for panels in 1 2 4; do
      MASKMIX_MIXING_PANELS=$panels ./bin/maskmix.js bench --workload "$w" --cuda-graph --no-reference --json > /tmp/panels.json 2>> "$OUT/panels.log"
      node -e "
        const r = JSON.parse(require('fs').readFileSync('/tmp/panels.json', 'utf8'));
        for (const x of r.results) for (const s of x.sides)
          console.log(['$w', 'panels $panels', 'round $round', s.msPerStep.toFixed(2) + ' ms', (s.peakMemoryBytes / 2 ** 30).toFixed(2) + ' GiB',
            'loss0 ' + s.lossFirst.toFixed(4), s.error || ''].join('  '));
      " | tee -a "$OUT/panels.txt" || tail -20 "$OUT/panels.log"
    done
  done
done
