// maskmix in several worker threads of one process (each has its own classes: per-environment AddonData), and
// worker.terminate() while a native call is in flight (settling a promise of a dying environment must not throw).
// Each scenario runs in a child process, so a regression fails the test instead of crashing vitest.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, 'fixtures', 'worker-threads.mjs');

function scenario(name: string): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, name], { timeout: 60_000 }, (error, stdout, stderr) => {
      const e = error as (Error & { code?: number; signal?: string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

describe('worker threads', () => {
  it('the main thread keeps its models after a worker used maskmix and exited', async () => {
    const r = await scenario('shared');
    expect({ code: r.code, signal: r.signal }, r.stderr).toEqual({ code: 0, signal: null });
    expect(r.stdout).toContain('worker: ok [1,2,64]');
    expect(r.stdout).toContain('main after worker: [1,2,64] true');
  });

  it('three workers train at the same time and exit on their own', async () => {
    const r = await scenario('parallel');
    expect({ code: r.code, signal: r.signal }, r.stderr).toEqual({ code: 0, signal: null });
    expect(r.stdout).toMatch(/workers: ok \d\.\d+, ok \d\.\d+, ok \d\.\d+/);
    expect(r.stdout).toContain('all exited');
  });

  for (const call of ['forward', 'decode', 'step']) {
    it(`worker.terminate() during a ${call} call leaves the process running`, async () => {
      const r = await scenario(`terminate-${call}`);
      expect({ code: r.code, signal: r.signal }, r.stderr).toEqual({ code: 0, signal: null });
      expect(r.stdout).toContain('main after terminate: [1,2,64]');
      expect(r.stdout).toContain('main alive');
    });
  }
});
