#!/usr/bin/env bash
# The GPU half of issue 10's install test: `npm install maskmix` into a fresh project, then a training step on the
# GPU through the installed package, with no compiler on PATH and no install script run.
# The GPU machines reach no npm registry, so the install happens here and the project travels:
#   here:              bash scripts/device/gpu-install-check.sh prepare   (needs prebuilds/linux-x64-torch2.11-cu13.0/)
#   on the GPU (run):  carry [".device", ".gpu-install"], command: bash scripts/device/gpu-install-check.sh run
# (prepare leaves the installed project as .gpu-install/project.tar.xz; run unpacks it in place.)
set -euo pipefail
cd "$(git rev-parse --show-toplevel 2>/dev/null || dirname "$0"/../..)"
project=.gpu-install

case "${1:-}" in
  prepare)
    ls prebuilds/linux-x64-torch2.11-cu13.0/maskmix.node > /dev/null
    rm -rf "$project" && mkdir -p "$project/pack"
    npm pack --ignore-scripts --json --pack-destination "$project/pack" > "$project/pack.json"
    tarball=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"))[0]; console.log(r.filename); console.error(`npm pack: ${(r.size/2**20).toFixed(2)} MiB packed, ${(r.unpackedSize/2**20).toFixed(2)} MiB unpacked`)' "$project/pack.json")
    echo '{ "name": "gpu-user-project", "private": true, "type": "module" }' > "$project/package.json"
    # The script the GPU side runs: 20 training steps of a small mixer on cuda through the installed package.
    cat > "$project/step.mjs" <<'JS'
import { LanguageModel, Trainer } from 'maskmix';
const model = await LanguageModel.create({ vocabSize: 512, dModel: 128, nLayers: 2, context: 64, seed: 1, device: 'cuda' });
const trainer = new Trainer(model, { learningRate: 1e-3 });
const tokens = Int32Array.from({ length: 8 * 64 }, (_, i) => 1 + ((i * 7) % 511));
const losses = [];
for (let i = 0; i < 20; i++) losses.push((await trainer.step({ tokens, batch: 8 })).loss);
console.log(JSON.stringify({ first: losses[0], last: losses.at(-1) }));
if (!(losses.at(-1) < losses[0])) process.exit(1);
JS
    start=$(date +%s.%N)
    (cd "$project" && npm install --no-audit --no-fund "./pack/$tarball" > install.log 2>&1)
    echo "npm install into a fresh project: $(echo "$(date +%s.%N) - $start" | bc) s; node_modules $(du -sh "$project/node_modules" | cut -f1)"
    rm -rf "$project/pack"
    # The carried tree must stay under 64 MiB: the tokenizers package ships every platform's binary (~60 MB); only
    # linux-x64-gnu's travels (the GPU machine's platform). Everything else is exactly what npm installed.
    tar cf - --exclude='tokenizers.android*' --exclude='tokenizers.darwin*' --exclude='tokenizers.win32*' \
      --exclude='tokenizers.linux-arm*' --exclude='tokenizers.linux-x64-musl.node' "$project" | xz -T0 -6 > .gpu-install.tar.xz
    rm -rf "$project" && mkdir "$project" && mv .gpu-install.tar.xz "$project/project.tar.xz"
    du -sh "$project/project.tar.xz"
    ;;
  run)
    OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
    # Node (carried in .device), and python3 so libtorch is found in PyTorch's package — nothing that compiles.
    source .device/enter.sh > /dev/null
    tar xJf "$project/project.tar.xz"
    bin=$(mktemp -d)
    ln -s "$(command -v node)" "$bin/node"
    # A wrapper, not a link: a virtualenv's python finds its packages from the path it was started by.
    printf '#!/bin/sh\nexec "%s" "$@"\n' "$(command -v python3)" > "$bin/python3" && chmod +x "$bin/python3"
    cd "$project"
    export PATH=$bin HOME=$PWD XDG_CACHE_HOME=$PWD/.cache
    unset LIBTORCH CMAKE_PREFIX_PATH LD_LIBRARY_PATH
    for tool in cc gcc g++ c++ nvcc cmake make; do
      if command -v "$tool" > /dev/null; then echo "FAIL: $tool is on PATH"; exit 1; fi
    done
    echo "no compiler on PATH ($PATH)"
    # Only node runs from here on (no cat or tee on this PATH): bash's own redirections carry the output.
    rc=0; node step.mjs > "$OUT/gpu-install-step.txt" || rc=$?
    echo "training through the installed package: $(< "$OUT/gpu-install-step.txt")"; [ $rc = 0 ] || exit $rc
    node node_modules/maskmix/bin/maskmix.js doctor --device cuda > "$OUT/gpu-install-doctor.txt"; echo "$(< "$OUT/gpu-install-doctor.txt")"
    node node_modules/maskmix/bin/maskmix.js doctor --device cuda --json > "$OUT/gpu-install-doctor.json"
    node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const ok = r.ok && r.addon.kind === "prebuild" && r.addon.prebuildKey === "linux-x64-torch2.11-cu13.0" && r.smokeTest.device === "cuda";
      console.log(ok ? "ok   installed package loads its CUDA prebuild and trains on the GPU" : "FAIL " + JSON.stringify(r.addon));
      process.exit(ok ? 0 : 1);' "$OUT/gpu-install-doctor.json"
    ;;
  *)
    echo "usage: bash scripts/device/gpu-install-check.sh prepare|run" >&2; exit 2 ;;
esac
