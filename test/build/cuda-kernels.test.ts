// The CUDA kernels (native/sources-cuda.txt) only build on a GPU machine, which a session may not get. They depend
// on the CUDA runtime alone (no libtorch), so where nvcc is installed — CI's machines have CUDA 13's — every one
// is compiled to PTX for the oldest architecture the CMake build targets: a kernel that would break the GPU build
// fails here first.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const ON_PATH = (process.env.PATH ?? '').split(':').filter(Boolean).map((dir) => join(dir, 'nvcc'));
// The first nvcc that exists and runs (a wrapper script may point at a toolkit that is not there).
const NVCC = [process.env.CUDACXX, ...ON_PATH, '/usr/local/cuda/bin/nvcc', '/usr/local/cuda-13.0/bin/nvcc'].find(
  (p) => p && existsSync(p) && spawnSync(p, ['--version']).status === 0,
);
const SOURCES = readFileSync(join(ROOT, 'native', 'sources-cuda.txt'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

describe.runIf(NVCC)(`CUDA kernels compile with ${NVCC ?? 'nvcc (not installed here)'}`, () => {
  const out = mkdtempSync(join(tmpdir(), 'maskmix-ptx-'));
  it.each(SOURCES)('%s', async (source) => {
    const ptx = join(out, `${source.replace(/\W/g, '_')}.ptx`);
    const args = ['-DMASKMIX_WITH_CUDA=1', '-std=c++17', '-arch=compute_80', '--ptx', '-I', join(ROOT, 'native'), join(ROOT, 'native', source), '-o', ptx];
    await run(NVCC!, args, { maxBuffer: 64 * 2 ** 20 });
    expect(readFileSync(ptx, 'utf8')).toMatch(/\.entry /);
  }, 300_000);
});
