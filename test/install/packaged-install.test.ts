// `npm install maskmix` as a user gets it: the packed tarball (with the prebuilt CPU addon) installed into a fresh
// project with no compiler on PATH and no install script run, then a training step through the installed package.
// Then the failures a user can meet — no libtorch, a libtorch no prebuild fits, a corrupt addon — each give the
// clear message, and the user's process survives them.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

import { beforeAll, describe, expect, it } from 'vitest';

import { findLibtorch } from '../../scripts/find-libtorch.mjs';
import { prebuildKey } from '../../lib/loading/prebuild-key.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

interface Result {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

async function exec(cmd: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Result> {
  try {
    const { stdout, stderr } = await run(cmd, args, { ...options, maxBuffer: 64 * 2 ** 20, timeout: 600_000 });
    return { code: 0, signal: null, stdout, stderr };
  } catch (error) {
    const e = error as { code: number | null; signal: string | null; stdout: string; stderr: string };
    return { code: e.code, signal: e.signal, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A PATH holding node and npm only: no gcc, g++, cc, make or cmake. */
function compilerFreePath(dir: string): string {
  const bin = join(dir, 'bin-no-compiler');
  mkdirSync(bin, { recursive: true });
  symlinkSync(process.execPath, join(bin, 'node'));
  const npmCli = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  writeFileSync(join(bin, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${npmCli}" "$@"\n`, { mode: 0o755 });
  return bin;
}

const TRAIN_STEP = `
import { LanguageModel, Trainer } from 'maskmix';
const model = await LanguageModel.create({ vocabSize: 64, dModel: 32, nLayers: 2, context: 16, seed: 1 });
const trainer = new Trainer(model, { learningRate: 1e-3 });
const tokens = Int32Array.from({ length: 2 * 16 }, (_, i) => 1 + (i % 63));
const step = await trainer.step({ tokens, batch: 2 });
console.log(JSON.stringify({ loss: step.loss }));
`;

// Survives a failed load: the error is caught, the process goes on and exits normally.
const SURVIVE = `
import { doctor, LanguageModel } from 'maskmix';
try {
  await LanguageModel.create({ vocabSize: 8, dModel: 4, nLayers: 1, context: 4 });
  console.log('loaded');
} catch (error) {
  console.log(JSON.stringify({ code: error.code, message: error.message }));
}
console.log('survived');
`;

describe('packaged install (no compiler, no install script)', () => {
  let project: string;
  let env: NodeJS.ProcessEnv;
  let installed: string;
  const torch = findLibtorch({ skipPython: true })!;
  const key = prebuildKey(torch);

  beforeAll(async () => {
    // The prebuild is the relocatable addon `npm run build` made, filed under its key.
    const made = await exec('node', ['scripts/prebuild.mjs', '--from', join('build', 'Release', 'maskmix.node')], { cwd: ROOT, env: process.env });
    expect(made.code, made.stderr).toBe(0);
    const packDir = mkdtempSync(join(tmpdir(), 'maskmix-pack-'));
    const packed = await exec('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: ROOT, env: process.env });
    expect(packed.code, packed.stderr).toBe(0);
    const info = JSON.parse(packed.stdout)[0] as { filename: string; size: number; unpackedSize: number; entryCount: number };
    const tarball = join(packDir, info.filename);
    console.log(`npm pack: ${info.filename} ${(info.size / 2 ** 20).toFixed(2)} MiB packed, ${(info.unpackedSize / 2 ** 20).toFixed(2)} MiB unpacked, ${info.entryCount} files`);

    project = mkdtempSync(join(tmpdir(), 'maskmix-user-'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
    env = {
      HOME: project,
      PATH: compilerFreePath(project),
      XDG_CACHE_HOME: join(project, 'cache'),
      npm_config_cache: process.env.npm_config_cache ?? join(process.env.HOME ?? '/root', '.npm'),
      MASKMIX_SKIP_PYTHON_TORCH: '1',
    };
    const start = performance.now();
    const install = await exec('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: project, env });
    expect(install.code, install.stderr).toBe(0);
    console.log(`npm install of the tarball into a fresh project: ${((performance.now() - start) / 1000).toFixed(1)} s`);
    installed = join(project, 'node_modules', 'maskmix');
  }, 900_000);

  it('ships the prebuild and trains a step through the installed package', async () => {
    expect(existsSync(join(installed, 'prebuilds', key, 'maskmix.node'))).toBe(true);
    expect(existsSync(join(installed, 'build'))).toBe(false); // nothing was compiled
    writeFileSync(join(project, 'step.mjs'), TRAIN_STEP);
    const r = await exec('node', ['step.mjs'], { cwd: project, env });
    expect(r.code, r.stderr).toBe(0);
    expect(Number.isFinite(JSON.parse(r.stdout).loss)).toBe(true);
    const doctor = await exec('node', [join(installed, 'bin', 'maskmix.js'), 'doctor', '--json'], { cwd: project, env });
    expect(doctor.code, doctor.stderr).toBe(0);
    expect(JSON.parse(doctor.stdout).addon).toMatchObject({ loaded: true, kind: 'prebuild', prebuildKey: key });
  });

  it('no libtorch: names where it looked and the command that fixes it; the process survives', async () => {
    writeFileSync(join(project, 'survive.mjs'), SURVIVE);
    const r = await exec('node', ['survive.mjs'], { cwd: project, env: { ...env, MASKMIX_LIBTORCH: join(project, 'no-libtorch-here') } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/survived/);
    const error = JSON.parse(r.stdout.split('\n')[0]);
    expect(error.code).toBe('NATIVE_UNAVAILABLE');
    expect(error.message).toMatch(/needs libtorch and found none/);
    expect(error.message).toMatch(/no-libtorch-here/);
    expect(error.message).toMatch(/Fix: sudo apt-get install -y libtorch-dev/);
  });

  it('a libtorch version no prebuild fits: names the key looked for and says to build from source', async () => {
    // A libtorch folder that claims version 9.9 but holds the real libraries.
    const fake = join(project, 'libtorch-9.9');
    mkdirSync(join(fake, 'include', 'torch'), { recursive: true });
    mkdirSync(join(fake, 'share', 'cmake', 'Torch'), { recursive: true });
    mkdirSync(join(fake, 'lib'), { recursive: true });
    writeFileSync(join(fake, 'include', 'torch', 'version.h'), '#define TORCH_VERSION_MAJOR 9\n#define TORCH_VERSION_MINOR 9\n#define TORCH_VERSION_PATCH 0\n');
    writeFileSync(join(fake, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), 'set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=1")\n');
    for (const lib of torch.libraries) symlinkSync(lib, join(fake, 'lib', lib.split('/').pop()!));
    const r = await exec('node', ['survive.mjs'], { cwd: project, env: { ...env, MASKMIX_LIBTORCH: fake } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/survived/);
    const error = JSON.parse(r.stdout.split('\n')[0]);
    expect(error.code).toBe('NATIVE_UNAVAILABLE');
    expect(error.message).toMatch(/prebuild linux-x64-torch9\.9-cpu/);
    expect(error.message).toMatch(/found libtorch 9\.9\.0 \(CPU/);
    expect(error.message).toMatch(/glibc \d+\.\d+/);
    expect(error.message).toMatch(/Fix: build the addon for this libtorch from source: npx maskmix build/);
  });

  it('a corrupt addon fails its test load in a child process; the message says so and the process survives', async () => {
    const addon = join(installed, 'prebuilds', key, 'maskmix.node');
    const good = readFileSync(addon);
    writeFileSync(addon, Buffer.concat([good.subarray(0, 4096), Buffer.alloc(8192, 0xcd)]));
    try {
      const r = await exec('node', ['survive.mjs'], { cwd: project, env: { ...env, XDG_CACHE_HOME: join(project, 'fresh-cache') } });
      expect(r.signal).toBeNull();
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/survived/);
      const error = JSON.parse(r.stdout.split('\n')[0]);
      expect(error.code).toBe('NATIVE_UNAVAILABLE');
      expect(error.message).toMatch(new RegExp(`prebuild ${addon.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: test load failed`));
    } finally {
      writeFileSync(addon, good);
    }
    expect(statSync(addon).size).toBe(good.length);
  });
});
