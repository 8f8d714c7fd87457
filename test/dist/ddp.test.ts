// Data-parallel training on the CPU (Gloo): two ranks of `maskmix launch`, and two single-rank nodes joined over
// loopback, must train exactly like one process that sees the same global batch.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { batches } from '../../lib/data/batches.js';
import { LanguageModel } from '../../lib/model.js';
import { Trainer } from '../../lib/trainer.js';
import { DDP_BATCH_SEED, DDP_MODEL, DDP_TRAIN, ddpSequences } from './fixtures/ddp-setup.js';
import { FIXTURES, freePort, maskmix } from './launch-helpers.js';
import { maxAbsDiff, parameterArrays } from '../parameter-arrays.js';

const STEPS = 6;
const PER_RANK = 4;

interface RankOutput {
  rank: number;
  worldSize: number;
  buckets: number;
  params: Record<string, number[]>;
}

/** One process, global batch 2 × PER_RANK: the losses of each step and the final parameters. */
async function singleProcess(): Promise<{ losses: number[]; gradNorms: number[]; params: Record<string, number[]> }> {
  const model = await LanguageModel.create(DDP_MODEL);
  const trainer = new Trainer(model, DDP_TRAIN);
  const data = batches(ddpSequences(), 2 * PER_RANK, { seed: DDP_BATCH_SEED });
  const losses: number[] = [];
  const gradNorms: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const r = await trainer.step({ tokens: data.nextBatch(), batch: 2 * PER_RANK });
    losses.push(r.loss!);
    gradNorms.push(r.gradNorm!);
  }
  const params = parameterArrays(model);
  trainer.dispose();
  model.dispose();
  return { losses, gradNorms, params };
}

function read(dir: string) {
  const ranks = [0, 1].map((r) => JSON.parse(readFileSync(join(dir, `rank${r}.json`), 'utf8')) as RankOutput);
  const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number; gradNorm: number; tokens: number });
  return { ranks, metrics };
}


function expectMatchesSingleProcess(dir: string, reference: Awaited<ReturnType<typeof singleProcess>>) {
  const { ranks, metrics } = read(dir);
  expect(ranks.map((r) => r.worldSize)).toEqual([2, 2]);
  // Both ranks applied the same averaged gradients to the same weights: bit-identical.
  expect(maxAbsDiff(ranks[0]!.params, ranks[1]!.params)).toBe(0);
  // …and the single process's update, up to float summation order.
  expect(maxAbsDiff(ranks[0]!.params, reference.params)).toBeLessThan(2e-5);
  expect(metrics.map((m) => m.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
  expect(metrics[STEPS - 1]!.tokens).toBe(STEPS * 2 * PER_RANK * 12);
  metrics.forEach((m, i) => expect(m.loss).toBeCloseTo(reference.losses[i]!, 5));
  // The norm tells a mean from a sum of the ranks' gradients, which Adam's scale invariance would hide.
  metrics.forEach((m, i) => expect(m.gradNorm).toBeCloseTo(reference.gradNorms[i]!, 5));
  return ranks;
}

describe('data-parallel training (Gloo, CPU)', () => {
  let reference: Awaited<ReturnType<typeof singleProcess>>;
  beforeAll(async () => {
    reference = await singleProcess();
  });

  it('2 ranks on one node: parameters and loss curve equal one process on the global batch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-ddp-'));
    // 1 KB buckets: the 18 parameter tensors are reduced in many buckets, most of them while backward runs.
    const run = maskmix(['launch', '--nproc-per-node', '2', '--', join(FIXTURES, 'ddp-steps.ts'), dir, String(STEPS), String(PER_RANK), '1024']);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^step 1 loss/m);  // rank 0's stdout passes through unprefixed
    expect(r.stdout).toMatch(/^\[rank 1\] step 1 loss/m);
    const ranks = expectMatchesSingleProcess(dir, reference);
    expect(ranks[0]!.buckets).toBeGreaterThan(1);
  });

  it('2 nodes over loopback (two launch --nnodes 2 invocations) form one group and train the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-ddp-nodes-'));
    const port = await freePort();
    // Node 1's launcher starts first: it waits for node 0's.
    const controlPort = await freePort();
    const args = (rank: number) => ['launch', '--nnodes', '2', '--node-rank', String(rank), '--nproc-per-node', '1', '--master-addr', '127.0.0.1',
      '--master-port', String(port), '--control-port', String(controlPort), '--', join(FIXTURES, 'ddp-steps.ts'), dir, String(STEPS), String(PER_RANK), String(25 * 2 ** 20)];
    const second = maskmix(args(1));
    const first = maskmix(args(0));
    const [r0, r1] = await Promise.all([first.done, second.done]);
    expect(r0.code, r0.stderr).toBe(0);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r0.stdout).toMatch(/^step/m);
    expect(r1.stdout).toMatch(/^\[rank 1\] step/m);
    const ranks = expectMatchesSingleProcess(dir, reference);
    expect(ranks[0]!.buckets).toBe(1);
  });
});
