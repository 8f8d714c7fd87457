#!/usr/bin/env node
// Builds the relocatable addon for the libtorch this machine has and files it as prebuilds/<key>/maskmix.node with
// an info.json, the layout lib/native.ts looks for. Run once per supported stack:
//   here (Debian 12, libtorch 1.13 CPU):   node scripts/prebuild.mjs            → prebuilds/linux-x64-torch1.13-cpu/
//   on a GPU machine (PyTorch 2.11, CUDA): node scripts/prebuild.mjs           → prebuilds/linux-x64-torch2.11-cu13.0/
// CUDA prebuilds compile SASS for sm_80 and sm_90 plus PTX for compute_90 (newer GPUs JIT it).
// `--from <addon>` files an addon already built by `npm run build:native` (every CMake build is relocatable).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { findLibtorch, describeAttempts } from './find-libtorch.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const attempts = [];
const torch = findLibtorch({ attempts });
if (!torch) {
  process.stderr.write(`prebuild: libtorch not found:\n${describeAttempts(attempts)}\n`);
  process.exit(1);
}
const [major, minor] = torch.version.split('.');
const key = `${process.platform}-${process.arch}-torch${major}.${minor}-${torch.cuda ? `cu${torch.cudaVersion ?? 'unknown'}` : 'cpu'}`;
const archs = '80-real;90-real;90-virtual';
const fromIndex = process.argv.indexOf('--from');
const buildDir = join(root, 'build-prebuild');
let built;
if (fromIndex > 0) {
  built = process.argv[fromIndex + 1];
} else {
  rmSync(buildDir, { recursive: true, force: true });
  const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
  execFileSync(process.execPath, [cmakeJs, 'compile', '--out', buildDir, `--CDCMAKE_CUDA_ARCHITECTURES=${archs}`], { cwd: root, stdio: 'inherit' });
  built = join(buildDir, 'Release', 'maskmix.node');
}
const out = join(root, 'prebuilds', key);
mkdirSync(out, { recursive: true });
copyFileSync(built, join(out, 'maskmix.node'));
const info = {
  key,
  torchVersion: torch.version,
  cuda: torch.cuda ? torch.cudaVersion : null,
  cxx11Abi: torch.cxx11Abi,
  cudaArchitectures: torch.cuda ? archs : undefined,
  builtAt: new Date().toISOString(),
};
writeFileSync(join(out, 'info.json'), JSON.stringify(info, null, 2) + '\n');
rmSync(buildDir, { recursive: true, force: true });
process.stdout.write(`prebuild: ${join('prebuilds', key, 'maskmix.node')}\n`);
