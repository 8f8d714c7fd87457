// `maskmix train --grad-accum k`: k micro-batches of --batch per optimizer step, alone and under launch.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { maskmix } from './launch-helpers.js';

const TINY = ['--steps', '4', '--width', '16', '--depth', '1', '--context', '16', '--batch', '2', '--documents', '10', '--vocab', '300',
  '--eval-every', '4', '--device', 'cpu', '--json', '--no-progress'];

describe('maskmix train --grad-accum', () => {
  it('is in the help, refuses bad values, and counts optimizer steps and every micro-batch token', async () => {
    const help = await maskmix(['train', '--help']).done;
    expect(help.stdout).toMatch(/--grad-accum <k>/);
    for (const bad of ['0', '1.5']) {
      const r = await maskmix(['train', ...TINY, '--grad-accum', bad]).done;
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/--grad-accum/);
    }
    const out = join(mkdtempSync(join(tmpdir(), 'maskmix-train-accum-')), 'run');
    const r = await maskmix(['launch', '--nproc-per-node', '2', '--', 'maskmix', 'train', ...TINY, '--grad-accum', '3', '--out', out]).done;
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.split('\n').filter((l) => !l.startsWith('[rank ')).join('\n'));  // rank 0's stdout is unprefixed
    expect(summary).toMatchObject({ worldSize: 2, steps: 4, tokensSeen: 4 * 3 * 2 * 2 * 16 });
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number });
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3, 4]);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(run.training).toMatchObject({ gradientAccumulation: 3, batchSize: 2, globalBatchSize: 12 });
  });
});
