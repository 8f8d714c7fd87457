// The second build system: node-gyp builds the same sources (native/sources.txt) through the same libtorch
// discovery, and the addon it makes loads and trains. Built in a scratch copy so the CMake build is untouched.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

describe('node-gyp build', () => {
  it('builds the addon from binding.gyp, and that addon runs a training step', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-gyp-'));
    for (const entry of ['package.json', 'binding.gyp', 'native', 'scripts']) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    // Build against the headers of the Node running us, found beside it (no download).
    const nodedir = dirname(dirname(process.execPath));
    const args = [join(ROOT, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), 'rebuild', '-j', String(availableParallelism())];
    if (existsSync(join(nodedir, 'include', 'node', 'common.gypi'))) args.push(`--nodedir=${nodedir}`);
    await run('node', args, { cwd: dir, maxBuffer: 256 * 2 ** 20 });
    const addon = join(dir, 'build', 'Release', 'maskmix.node');
    expect(existsSync(addon)).toBe(true);

    const { stdout } = await run('node', [join(ROOT, 'bin', 'maskmix.js'), 'doctor', '--json'], {
      env: { ...process.env, MASKMIX_ADDON: addon },
    });
    const report = JSON.parse(stdout);
    expect(report.addon.loaded).toBe(true);
    expect(report.addon.path).toBe(addon);
    expect(report.smokeTest.ok).toBe(true);
  }, 1_800_000);
});
