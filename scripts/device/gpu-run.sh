#!/usr/bin/env bash
# On a GPU machine (device tool), from the repository root, with carry [".device", "dist"]:
#   bash scripts/device/gpu-run.sh build            build the CUDA addon, file it as a prebuild ($OUT), run doctor
#   bash scripts/device/gpu-run.sh bench W1 W2 ...  then `maskmix bench` per workload (results in $OUT)
#   bash scripts/device/gpu-run.sh script FILE ...  then run a node script
# With .gpubuild/maskmix.node and .gpubuild/sources carried too (an earlier call's $OUT files of those names), that addon
# is used instead of a build while native/ is unchanged.
# TypeScript is compiled here (dist/) and carried; the addon is built there against the machine's PyTorch.
set -uo pipefail
source .device/enter.sh
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
what=${1:-build}
shift || true

start=$(date +%s)
# A hash of native/ and the build files: a carried addon is used only if it was built from these sources.
sources=$(find native CMakeLists.txt -type f | sort | xargs cat | md5sum | cut -d' ' -f1)
if [ -f .gpubuild/maskmix.node ] && [ "$(cat .gpubuild/sources 2>/dev/null)" = "$sources" ]; then
  # An addon built by an earlier call of this script from the same sources (its $OUT/maskmix.node, carried back in
  # .gpubuild/): saves the ~70 s compile when a lease is short. Only valid while native/ is unchanged.
  mkdir -p build/Release && cp .gpubuild/maskmix.node build/Release/maskmix.node
  echo "build: reused .gpubuild/maskmix.node"
else
  [ -f .gpubuild/maskmix.node ] && echo "build: .gpubuild/maskmix.node is from other sources; building"
  npx cmake-js compile --out build > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
  # Kept for a later invocation in this call, and sent back ($OUT/sources) to carry in .gpubuild/ next call.
  mkdir -p .gpubuild && cp build/Release/maskmix.node .gpubuild/ && echo "$sources" | tee .gpubuild/sources > "$OUT/sources"
  echo "build: $(( $(date +%s) - start )) s"
  # Every CMake build is relocatable: file it as this stack's prebuild and send it back (issue 10's CUDA prebuild).
  node scripts/prebuild.mjs --from build/Release/maskmix.node && cp prebuilds/*-cu*/maskmix.node prebuilds/*-cu*/info.json "$OUT/"
fi
./bin/maskmix.js doctor --device cuda | tee "$OUT/doctor.txt"

case "$what" in
  bench)
    for w in "$@"; do
      ./bin/maskmix.js bench --workload "$w" ${BENCH_ARGS:-} --json > "$OUT/bench-$w.json" 2>> "$OUT/bench.log"
      node scripts/device/bench-lines.mjs "$OUT/bench-$w.json" || tail -20 "$OUT/bench.log"
    done
    grep -h -A14 "GPU kernel time" "$OUT/bench.log" 2>/dev/null || true
    ;;
  script)
    for f in "$@"; do node "$f" 2>&1 | tee -a "$OUT/script.log"; done
    ;;
esac
