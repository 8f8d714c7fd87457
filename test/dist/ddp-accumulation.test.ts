// Gradient accumulation under data-parallel training (Gloo, CPU): 2 ranks × 2 micro-batches per step must train
// exactly like one process on the global batch of all four, and the bucketed all-reduce must run only in the last
// micro-batch's backward (no_sync for the others): one all-reduce per bucket per optimizer step, not per micro-batch.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { batches } from '../../lib/data/batches.js';
import { ProcessGroup } from '../../lib/dist/process-group.js';
import { LanguageModel } from '../../lib/model.js';
import { Trainer } from '../../lib/trainer.js';
import { randomTokens, tinyModel } from '../helpers.js';
import { DDP_BATCH_SEED, DDP_MODEL, DDP_TRAIN, ddpSequences } from './fixtures/ddp-setup.js';
import { FIXTURES, freePort, maskmix } from './launch-helpers.js';
import { maxAbsDiff, parameterArrays } from '../parameter-arrays.js';

const STEPS = 3;
const PER_RANK = 4;
const ACCUMULATION = 2;

/** One process, no accumulation: each step on the 2 consecutive global batches the ranks' micro-batches come from. */
async function singleProcess() {
  const model = await LanguageModel.create(DDP_MODEL);
  const trainer = new Trainer(model, DDP_TRAIN);
  const global = 2 * PER_RANK;
  const data = batches(ddpSequences(), global, { seed: DDP_BATCH_SEED });
  const losses: number[] = [];
  const gradNorms: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const tokens = new Int32Array(ACCUMULATION * global * 12);
    for (let m = 0; m < ACCUMULATION; m++) tokens.set(data.nextBatch(), m * global * 12);
    const r = await trainer.step({ tokens, batch: ACCUMULATION * global });
    losses.push(r.loss!);
    gradNorms.push(r.gradNorm!);
  }
  const params = parameterArrays(model);
  trainer.dispose();
  model.dispose();
  return { losses, gradNorms, params };
}


describe('gradient accumulation, data-parallel (Gloo, CPU)', () => {
  it('2 ranks × 2 micro-batches equal one process on the global batch; one all-reduce per bucket per step', async () => {
    const reference = await singleProcess();
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-ddp-accum-'));
    const run = maskmix(['launch', '--nproc-per-node', '2', '--', join(FIXTURES, 'ddp-steps.ts'), dir, String(STEPS), String(PER_RANK), '1024', String(ACCUMULATION)]);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    const ranks = [0, 1].map((k) => JSON.parse(readFileSync(join(dir, `rank${k}.json`), 'utf8')) as { buckets: number; launches: number; params: Record<string, number[]> });
    const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number; gradNorm: number; tokens: number });
    expect(maxAbsDiff(ranks[0]!.params, ranks[1]!.params)).toBe(0);
    expect(maxAbsDiff(ranks[0]!.params, reference.params)).toBeLessThan(2e-5);
    // Steps count optimizer steps; tokens count every micro-batch of every rank.
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3]);
    expect(metrics[STEPS - 1]!.tokens).toBe(STEPS * ACCUMULATION * 2 * PER_RANK * 12);
    metrics.forEach((m, i) => expect(m.loss).toBeCloseTo(reference.losses[i]!, 5));
    metrics.forEach((m, i) => expect(m.gradNorm).toBeCloseTo(reference.gradNorms[i]!, 5));
    // no_sync: the first micro-batch's backward launched nothing.
    expect(ranks[0]!.buckets).toBeGreaterThan(1);
    for (const rank of ranks) expect(rank.launches).toBe(STEPS * rank.buckets);
  });

  it('in one process: all-reduces only on the last micro-batch, and the same update as without a group', async () => {
    const group = await ProcessGroup.create({ backend: 'gloo', rank: 0, worldSize: 1, masterPort: await freePort(), timeoutMs: 10_000 });
    const [plain, synced] = [await tinyModel(), await tinyModel()];
    const a = new Trainer(plain, { precision: 'fp32', gradientAccumulation: 3 });
    const b = new Trainer(synced, { precision: 'fp32', gradientAccumulation: 3 }, { processGroup: group, bucketBytes: 512 });
    expect(b.gradientBuckets).toBeGreaterThan(3);
    for (let i = 0; i < 2; i++) {
      const batch = { tokens: randomTokens(6 * 12, 50, i), batch: 6 };
      const [ra, rb] = [await a.step(batch), await b.step(batch)];
      expect(rb.loss).toBe(ra.loss);
      expect(rb.gradNorm).toBe(ra.gradNorm);
      // 3 micro-batches, yet each bucket was reduced once in this step.
      expect(b.gradientBucketLaunches).toBe((i + 1) * b.gradientBuckets);
    }
    const after = synced.stateDict();
    for (const [name, t] of Object.entries(plain.stateDict())) expect(after[name]!.toTypedArray()).toEqual(t.toTypedArray());
    for (const x of [a, b, plain, synced]) x.dispose();
    group.destroy();
  });
});
