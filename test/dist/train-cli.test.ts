// `maskmix train` alone and as two data-parallel ranks under `maskmix launch`, as a user runs them.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { native } from '../../lib/native.js';
import { maskmix } from './launch-helpers.js';

const TINY = ['--steps', '8', '--width', '16', '--depth', '1', '--context', '16', '--batch', '2', '--documents', '10', '--vocab', '300',
  '--eval-every', '4', '--device', 'cpu', '--json', '--no-progress'];

/** The JSON rank 0 printed: under launch its stdout passes through unprefixed, so it parses as it is. */
function summaryOf(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout);
}

describe('maskmix train', () => {
  it('trains alone and writes a run directory', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'maskmix-train-')), 'run');
    const r = await maskmix(['train', ...TINY, '--out', out]).done;
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r.stdout)).toMatchObject({ runDir: out, rank: 0, worldSize: 1, device: 'cpu', steps: 8, tokensSeen: 8 * 2 * 16 });
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'metrics.jsonl', 'run.json', 'summary.json']) expect(existsSync(join(out, f))).toBe(true);
  });

  it('under launch: two ranks, one run directory written by rank 0, global token counts', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'maskmix-train-ddp-')), 'run');
    const r = await maskmix(['launch', '--nproc-per-node', '2', '--', 'maskmix', 'train', ...TINY, '--out', out]).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/^\[rank 1\]/m);  // rank 0 alone reports
    const summary = summaryOf(r.stdout);
    expect(summary).toMatchObject({ runDir: out, worldSize: 2, steps: 8, tokensSeen: 8 * 2 * 2 * 16 });
    expect(Number(summary.valLoss)).toBeGreaterThan(0);
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(metrics).toHaveLength(8);  // not once per rank
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(run.distributed).toEqual({ worldSize: 2, backend: 'gloo', device: 'cpu' });
    expect(run.training.globalBatchSize).toBe(4);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
  });

  it('--gpus needs that many GPUs; launch needs a command', async () => {
    const runtime = native().runtimeInfo();
    if (!runtime.cudaAvailable) {
      const r = await maskmix(['train', '--gpus', '2', ...TINY]).done;
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/--gpus 2 needs 2 GPUs; this machine has 0/);
    }
    const usage = await maskmix(['launch', '--nproc-per-node', '2']).done;
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/missing required argument 'command'/);
  });
});
