#!/usr/bin/env bash
# Builds and runs the GELU-epilogue probe (probe.cpp) on a GPU machine:
#   run: bash scripts/device/gelu-epilogue/run.sh      carry: [".cutlass"]
# .cutlass holds CUTLASS's include/ and tools/util/include/ (BSD-3; not in the repository: unpack a release of
# github.com/NVIDIA/cutlass there). libtorch is the one inside the machine's PyTorch. Output: $OUT/probe.txt.
set -euo pipefail
# wgmma needs the sm_90a target in its -gencode form (HOPPER.md: -arch=sm_90a also ran a plain sm_90 pass on nvcc 13.0).
export PATH=/usr/local/cuda/bin:$PATH
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT" /tmp/gelu-probe
torch=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
cutlass=$(pwd)/.cutlass
flags=(-O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a --expt-relaxed-constexpr -DNDEBUG -I "$here" -I "$cutlass/include" -I "$cutlass/tools/util/include")
start=$(date +%s)
for kind in 0 1 2; do
  nvcc "${flags[@]}" -DPROBE_KIND=$kind -c "$here/cutlass_gemms.cu" -o /tmp/gelu-probe/gemms$kind.o > /tmp/gelu-probe/build$kind.log 2>&1 &
done
g++ -O2 -std=c++17 -I "$here" -I "$torch/include" -I "$torch/include/torch/csrc/api/include" -I /usr/local/cuda/include \
  -c "$here/probe.cpp" -o /tmp/gelu-probe/probe.o > /tmp/gelu-probe/build-probe.log 2>&1 || { tail -30 /tmp/gelu-probe/build-probe.log; exit 1; }
fail=0
for job in $(jobs -p); do wait "$job" || fail=1; done
if [ $fail = 1 ]; then for kind in 0 1 2; do tail -20 /tmp/gelu-probe/build$kind.log; done; exit 1; fi
# --no-as-needed keeps libtorch_cuda, which registers the CUDA backend though the probe calls none of it directly.
nvcc /tmp/gelu-probe/*.o -o /tmp/gelu-probe/probe -Xlinker --no-as-needed -L "$torch/lib" -ltorch -ltorch_cuda -ltorch_cpu \
  -lc10_cuda -lc10 -Xlinker -rpath="$torch/lib"
echo "build: $(( $(date +%s) - start )) s"
/tmp/gelu-probe/probe | tee "$OUT/probe.txt"
