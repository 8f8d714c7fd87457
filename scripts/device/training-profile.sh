#!/usr/bin/env bash
# On a GPU machine (device tool), from the repository root, with carry [".device", "dist"] (and ".gpubuild" to reuse
# an addon built from the same native/ sources): the mixer training step's kernels beside torch.compile's, for the
# GPU training issue. Builds (or reuses) the addon, then for one workload (default mixer-d1024-L8-n512-b32):
#   - torch.compile's step (scripts/bench/reference.py --profile-trace): kernel table per step (SKIP_REFERENCE=1: not);
#   - maskmix's graphed step and its step-by-step run (`maskmix bench --profile`): kernel tables, kernel time by op;
#   - with NCU=1, Nsight Compute over maskmix's own and libtorch's elementwise kernels of one step: time, DRAM bytes;
#   - with TRY="VAR=value ...", the graphed step with each switch against the default, alternating, ROUNDS times (2);
#   - with CHECK=1, scripts/gpu/check-training.mjs.
# Sends back maskmix.node and sources (carry them as .gpubuild/ next time) and results.tgz (every table and log).
set -uo pipefail
OUT=${OUT:-/tmp/out}
workload=${1:-mixer-d1024-L8-n512-b32}
res=/tmp/results && mkdir -p $res
# Packed again after every stage, so a call cut off at its time limit still sends back what was done.
pack() { tar czf "$OUT/results.tgz" -C /tmp results; }
OUT=/tmp/build-out bash scripts/device/gpu-run.sh build > $res/build.txt 2>&1
# gpu-run.sh leaves the addon it built or reused, and its sources' hash, in .gpubuild/.
cp .gpubuild/maskmix.node .gpubuild/sources "$OUT/" 2>/dev/null
source .device/enter.sh
# Shape of the workload name: mixer-d<d>-L<layers>-n<ctx>-b<batch>, vocabulary 8000 (SPEC §7).
read -r d layers ctx batch <<< "$(echo "$workload" | sed -E 's/^mixer-d([0-9]+)-L([0-9]+)-n([0-9]+)-b([0-9]+)$/\1 \2 \3 \4/')"
[ "${SKIP_REFERENCE:-0}" = 1 ] || python3 scripts/bench/reference.py --model mixer --d "$d" --layers "$layers" --ctx "$ctx" --batch "$batch" --vocab 8000 \
  --mode compile --profile-trace /tmp/ref.trace.json > $res/reference.json 2> $res/reference.log
[ -f /tmp/ref.trace.json ] && node scripts/bench/summarise-trace.mjs /tmp/ref.trace.json 3 60 > $res/compile.kernels.txt
pack
./bin/maskmix.js bench --workload "$workload" --no-reference --cuda-graph --profile /tmp/graph > $res/maskmix-graph.txt 2>&1
./bin/maskmix.js bench --workload "$workload" --no-reference --profile /tmp/steps > $res/maskmix-steps.txt 2>&1
cp /tmp/graph/"$workload".kernels.txt $res/maskmix-graph.kernels.txt
cp /tmp/steps/"$workload".kernels.txt $res/maskmix-steps.kernels.txt
cp /tmp/steps/"$workload".ops.txt $res/maskmix-steps.ops.txt
pack
# Every MASKMIX_* switch named in TRY (e.g. TRY="MASKMIX_LAYERNORM_SAVES=input"): the graphed step again with it, then
# without, alternating, so a switch's effect is read within this one call.
for setting in ${TRY:-}; do
  for round in $(seq "${ROUNDS:-2}"); do
    env "$setting" ./bin/maskmix.js bench --workload "$workload" --no-reference --cuda-graph 2>&1 | grep "maskmix  " | sed "s|^|$setting |" >> $res/switches.txt
    ./bin/maskmix.js bench --workload "$workload" --no-reference --cuda-graph 2>&1 | grep "maskmix  " | sed "s|^|default |" >> $res/switches.txt
    pack
  done
done
# With NCU=1: one step's non-GEMM kernels (past the warm-up's first steps), serialised by Nsight Compute, caches as
# they are.
[ "${NCU:-0}" = 1 ] && ncu --clock-control none --cache-control none --kernel-name regex:'Kernel|kernel' --launch-skip 400 --launch-count 300 \
  --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,launch__grid_size,launch__registers_per_thread \
  --csv ./bin/maskmix.js bench --workload "$workload" --no-reference --warmup 2 --steps 2 > $res/ncu-maskmix.csv 2> $res/ncu-maskmix.log
pack
# With CHECK=1: the GPU correctness script of the training kernels (fused vs module-by-module, vs CPU float64, loss
# curves).
[ "${CHECK:-0}" = 1 ] && node scripts/gpu/check-training.mjs > $res/check-training.txt 2>&1
pack
