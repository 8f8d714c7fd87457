#!/usr/bin/env bash
# Packs node_modules for a GPU machine run without what is only needed here (TypeScript, vitest and its bundlers,
# other platforms' tokenizer binaries), so the carried tree stays under the device tool's 64 MiB. Run after
# `bash ../shared/device/pack.sh --no-modules`; the TypeScript is compiled here and `dist` is carried beside it.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
tar cf - \
  --exclude='node_modules/typescript' --exclude='node_modules/vitest' --exclude='node_modules/@vitest' \
  --exclude='node_modules/vite' --exclude='node_modules/rolldown' --exclude='node_modules/@rolldown' \
  --exclude='node_modules/esbuild' --exclude='node_modules/@esbuild' --exclude='node_modules/lightningcss*' \
  --exclude='node_modules/@types' --exclude='node_modules/.cache' \
  --exclude='node_modules/tokenizers/tokenizers.android*' --exclude='node_modules/tokenizers/tokenizers.darwin*' \
  --exclude='node_modules/tokenizers/tokenizers.win32*' --exclude='node_modules/tokenizers/tokenizers.linux-arm*' \
  --exclude='node_modules/tokenizers/tokenizers.linux-x64-musl.node' \
  node_modules | xz -T0 -6 > .device/node_modules.tar.xz
du -sh .device/node_modules.tar.xz
