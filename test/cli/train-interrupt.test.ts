// Ctrl-C on a plain `maskmix train` stops after the current step, keeps the model trained so far, and exits with
// status 130 so a script can tell an interrupted run from a finished one.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { maskmix } from '../dist/launch-helpers.js';

describe('maskmix train, interrupted', () => {
  it('saves what it learned and exits 130', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'maskmix-interrupt-')), 'run');
    const run = maskmix(['train', '--steps', '100000', '--width', '16', '--depth', '1', '--context', '16', '--vocab', '300', '--documents', '4', '--out', out, '--no-progress']);
    await run.waitFor(/\[train\] 100000 steps/);
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(run.pid, 'SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    for (const f of ['config.json', 'model.safetensors', 'summary.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.steps).toBeGreaterThan(0);
    expect(summary.steps).toBeLessThan(100000);
  }, 120_000);
});
