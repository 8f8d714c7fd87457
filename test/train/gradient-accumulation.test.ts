// Gradient accumulation: k micro-batches of b rows per optimizer step must train exactly like one step on the
// k·b rows at once — same loss, same gradient norm, same parameters — also when the micro-batches hold different
// numbers of targets (padding, target masks), for multi-token prediction and for InfoNCE.
import { describe, expect, it } from 'vitest';

import type { MaskmixError } from '../../lib/errors.js';
import type { TokenBatch } from '../../lib/model.js';
import type { ModelConfigInput } from '../../lib/model-config.js';
import { Trainer, type TrainConfigInput } from '../../lib/trainer.js';
import { randomTokens, tinyModel } from '../helpers.js';
import { maxAbsDiff, parameterArrays } from '../parameter-arrays.js';

const CONTEXT = 12;
const PAD = 0;

/** Tokens in 1..49 (no pad), then some rows padded from a row-dependent position: micro-batches differ in targets. */
function paddedBatch(rows: number, seed: number): Int32Array {
  const tokens = randomTokens(rows * CONTEXT, 49, seed).map((t) => t + 1);
  for (let r = 0; r < rows; r += 2) tokens.fill(PAD, r * CONTEXT + 3 + ((r * 5 + seed) % 8), (r + 1) * CONTEXT);
  return tokens;
}



interface Case {
  k: number;
  model?: Partial<ModelConfigInput>;
  train?: TrainConfigInput;
  batch?: (rows: number, seed: number) => Int32Array;
  mask?: boolean;
  rowsPerMicro?: number;
}

/** 3 optimizer steps both ways; returns the largest parameter difference and the per-step results. */
async function compare(c: Case) {
  const b = c.rowsPerMicro ?? 2;
  const rows = c.k * b;
  const config: TrainConfigInput = { learningRate: 1e-2, precision: 'fp32', gradClip: 0.5, ...c.train };
  const [whole, accumulated] = [await tinyModel({ padId: PAD, ...c.model }), await tinyModel({ padId: PAD, ...c.model })];
  const reference = new Trainer(whole, config);
  const trainer = new Trainer(accumulated, { ...config, gradientAccumulation: c.k });
  const results: { loss: number[]; norm: number[] }[] = [];
  for (let step = 0; step < 3; step++) {
    const batch: TokenBatch = { tokens: (c.batch ?? paddedBatch)(rows, 10 + step), batch: rows };
    // Score every third token only: the target counts per micro-batch then differ even more.
    const targetMask = c.mask ? Array.from(batch.tokens, (_, i) => (i % 3 === step % 3 ? 1 : 0)) : undefined;
    const r = await reference.step(batch, { targetMask });
    const a = await trainer.step(batch, { targetMask });
    expect(a.step).toBe(step + 1);
    results.push({ loss: [r.loss!, a.loss!], norm: [r.gradNorm!, a.gradNorm!] });
  }
  const diff = maxAbsDiff(parameterArrays(accumulated), parameterArrays(whole));
  reference.dispose();
  trainer.dispose();
  whole.dispose();
  accumulated.dispose();
  return { diff, results };
}

function expectClose(results: { loss: number[]; norm: number[] }[], digits: number) {
  for (const { loss, norm } of results) {
    expect(loss[1]).toBeCloseTo(loss[0]!, digits);
    expect(norm[1]).toBeCloseTo(norm[0]!, digits);
  }
}

describe('gradient accumulation', () => {
  it('k = 2 and k = 3 in float64, with unequal target counts per micro-batch: one step on the whole batch', async () => {
    for (const k of [2, 3]) {
      const { diff, results } = await compare({ k, model: { dtype: 'float64' } });
      // Summation order differs (per micro-batch, then across): ~1e-16 in the gradients, which Adam's division by
      // √v̂ can lift to ~1e-12 in small-gradient entries after 3 steps.
      expect(diff).toBeLessThan(1e-10);
      expectClose(results, 12);
    }
  });

  it('k = 2 in float32 (the training dtype) matches to float rounding', async () => {
    const { diff, results } = await compare({ k: 2 });
    expect(diff).toBeLessThan(1e-5);
    expectClose(results, 5);
  });

  it('works with a target mask and with multi-token prediction', async () => {
    const masked = await compare({ k: 3, model: { dtype: 'float64' }, mask: true });
    expect(masked.diff).toBeLessThan(1e-10);
    expectClose(masked.results, 12);
    const multi = await compare({ k: 2, model: { dtype: 'float64', predictTokens: 3 } });
    expect(multi.diff).toBeLessThan(1e-10);
    expectClose(multi.results, 12);
  });

  it('works with the InfoNCE objective (micro-batches of whole samples)', async () => {
    const infonce = await compare({
      k: 2,
      rowsPerMicro: 4,
      model: { dtype: 'float64' },
      train: { objective: 'infonce', infoNceGroup: 2 },
      batch: (rows, seed) => randomTokens(rows * CONTEXT, 49, seed).map((t) => t + 1),
    });
    expect(infonce.diff).toBeLessThan(1e-10);
    expectClose(infonce.results, 12);
  });

  it('stepMicroBatches takes the micro-batches as a list', async () => {
    const [m1, m2] = [await tinyModel({ padId: PAD, dtype: 'float64' }), await tinyModel({ padId: PAD, dtype: 'float64' })];
    const t1 = new Trainer(m1, { precision: 'fp32', gradientAccumulation: 2 });
    const t2 = new Trainer(m2, { precision: 'fp32', gradientAccumulation: 2 });
    const tokens = paddedBatch(4, 1);
    const a = await t1.step({ tokens, batch: 4 });
    const half = 2 * CONTEXT;
    const b = await t2.stepMicroBatches([{ tokens: tokens.subarray(0, half), batch: 2 }, { tokens: tokens.subarray(half), batch: 2 }]);
    expect(b.loss).toBe(a.loss);
    expect(maxAbsDiff(parameterArrays(m2), parameterArrays(m1))).toBe(0);
    await expect(t2.stepMicroBatches([{ tokens: tokens.subarray(0, half), batch: 2 }])).rejects.toThrow(/takes 2 micro-batches, got 1/);
    for (const x of [t1, t2, m1, m2]) x.dispose();
  });

  it('refuses bad values with clear errors', async () => {
    const model = await tinyModel({ padId: PAD });
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new Trainer(model, { gradientAccumulation: bad })).toThrow(/gradientAccumulation must be a positive integer/);
    }
    const trainer = new Trainer(model, { gradientAccumulation: 2 });
    const error = await trainer.step({ tokens: paddedBatch(3, 1), batch: 3 }).then(() => undefined, (e: unknown) => e as MaskmixError);
    expect(error?.code).toBe('SHAPE_MISMATCH');
    expect(error?.message).toMatch(/gradientAccumulation 2 .* 3 rows do not divide by 2/);
    expect(trainer.stepsTaken).toBe(0);
    const infonce = new Trainer(model, { gradientAccumulation: 2, objective: 'infonce', infoNceGroup: 4 });
    await expect(infonce.step({ tokens: paddedBatch(4, 1), batch: 4 })).rejects.toThrow(/micro-batch of 2 rows must hold whole InfoNCE samples of 4/);
    for (const x of [trainer, infonce, model]) x.dispose();
  });
});
