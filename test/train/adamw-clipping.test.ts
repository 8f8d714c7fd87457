// The trainer's update against AdamW written out here from its definition: clip the gradients' global L2 norm as
// torch.nn.utils.clip_grad_norm_ does (factor min(1, c / (norm + 1e-6))), then decoupled weight decay and the
// bias-corrected moments, as torch.optim.AdamW. Gradients come from model.lossGradients on the same weights, in
// float64, so the only difference left is summation order.
import { describe, expect, it } from 'vitest';

import { Trainer, type TrainConfigInput } from '../../lib/trainer.js';
import { randomTokens, tinyModel } from '../helpers.js';
import { maxAbsDiff, parameterArrays } from '../parameter-arrays.js';

const CONFIG = { learningRate: 3e-2, weightDecay: 0.1, beta1: 0.8, beta2: 0.95, epsilon: 1e-6, precision: 'fp32' } satisfies TrainConfigInput;

interface Moments {
  m: number[];
  v: number[];
}

/** One AdamW step of `params` in place; returns the gradients' norm before clipping. */
function referenceStep(params: Record<string, number[]>, grads: Record<string, number[]>, moments: Record<string, Moments>, t: number, clip: number): number {
  let sumSq = 0;
  for (const g of Object.values(grads)) for (const x of g) sumSq += x * x;
  const norm = Math.sqrt(sumSq);
  const factor = clip > 0 ? Math.min(1, clip / (norm + 1e-6)) : 1;
  const { learningRate: lr, weightDecay, beta1, beta2, epsilon } = CONFIG;
  for (const [name, p] of Object.entries(params)) {
    const g = grads[name]!.map((x) => x * factor);
    const s = (moments[name] ??= { m: g.map(() => 0), v: g.map(() => 0) });
    for (let i = 0; i < p.length; i++) {
      p[i]! *= 1 - lr * weightDecay;
      s.m[i] = beta1 * s.m[i]! + (1 - beta1) * g[i]!;
      s.v[i] = beta2 * s.v[i]! + (1 - beta2) * g[i]! * g[i]!;
      const denom = Math.sqrt(s.v[i]!) / Math.sqrt(1 - beta2 ** t) + epsilon;
      p[i]! -= (lr / (1 - beta1 ** t)) * (s.m[i]! / denom);
    }
  }
  return norm;
}

async function compare(clip: number) {
  const model = await tinyModel({ dtype: 'float64' });
  const trainer = new Trainer(model, { ...CONFIG, gradClip: clip });
  const expected = parameterArrays(model);
  const moments: Record<string, Moments> = {};
  const norms: number[] = [];
  for (let t = 1; t <= 3; t++) {
    const batch = { tokens: randomTokens(4 * 12, 50, 20 + t), batch: 4 };
    const { gradients } = await model.lossGradients(batch);
    const grads = Object.fromEntries(Object.entries(gradients).map(([k, v]) => [k, Array.from(v.toTypedArray() as ArrayLike<number>)]));
    expect(Object.keys(grads).sort()).toEqual(Object.keys(expected).sort());
    const norm = referenceStep(expected, grads, moments, t, clip);
    const result = await trainer.step(batch);
    expect(Math.abs(result.gradNorm! - norm) / norm).toBeLessThan(1e-12);
    norms.push(norm);
  }
  const diff = maxAbsDiff(parameterArrays(model), expected);
  trainer.dispose();
  model.dispose();
  return { diff, norms };
}

describe('AdamW with gradient clipping', () => {
  it('clips by the global norm, then updates as torch.optim.AdamW (float64, 3 steps)', async () => {
    const { diff, norms } = await compare(0.05);
    // The clip bound is below every step's norm, so every step was clipped.
    for (const n of norms) expect(n).toBeGreaterThan(0.05);
    expect(diff).toBeLessThan(1e-10);
  });

  it('leaves gradients unscaled when clipping is off or the norm is under the bound', async () => {
    expect((await compare(0)).diff).toBeLessThan(1e-10);
    const { diff, norms } = await compare(1e6);
    for (const n of norms) expect(n).toBeLessThan(1e6);
    expect(diff).toBeLessThan(1e-10);
  });
});
