// MASKMIX_ADDON naming a file that does not load fails (NATIVE_UNAVAILABLE naming it) instead of silently falling
// back to the source build or a prebuild.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { BIN } from '../cli-runner.js';

describe('MASKMIX_ADDON', () => {
  it('a missing file is an error naming it, not a fallback', async () => {
    const env = { ...process.env, MASKMIX_ADDON: '/nonexistent/maskmix.node' };
    const error = await promisify(execFile)('node', [BIN, 'doctor', '--json'], { env }).then(
      () => undefined,
      (e: { code: number; stdout: string }) => e,
    );
    expect(error?.code).toBe(1);
    const report = JSON.parse(error!.stdout);
    expect(report.addon.loaded).toBe(false);
    expect(report.addon.error).toMatch(/MASKMIX_ADDON=\/nonexistent\/maskmix\.node does not load \(not present\)/);
  }, 60_000);
});
