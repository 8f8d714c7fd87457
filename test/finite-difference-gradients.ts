/** Checks a model's parameter gradients against central finite differences of its loss (fp64 models). */
import { expect } from 'vitest';

import type { LanguageModel } from '../lib/model.js';
import { Tensor } from '../lib/tensor.js';

/**
 * For every parameter and each entry `entries(length)` names, |analytic − numeric| < 1e-7·max(1, |numeric|), with
 * numeric = (loss(+ε) − loss(−ε)) / 2ε, ε = 1e-6. Each entry is perturbed through a reload of the state dict and
 * put back afterwards.
 */
export async function expectGradientsMatchFiniteDifferences(
  model: LanguageModel,
  batch: { tokens: Int32Array; batch: number },
  entries: (length: number) => Iterable<number>,
): Promise<void> {
  const { gradients } = await model.lossGradients(batch);
  const state = model.stateDict();
  const eps = 1e-6;
  for (const name of Object.keys(state)) {
    const base = state[name].toTypedArray() as Float64Array;
    const g = gradients[name].toTypedArray() as Float64Array;
    for (const i of entries(base.length)) {
      const loss = async (delta: number) => {
        const copy = Float64Array.from(base);
        copy[i] += delta;
        model.loadStateDict({ ...model.stateDict(), [name]: Tensor.from(copy, state[name].shape) });
        return (await model.evalLoss(batch)).loss;
      };
      const numeric = ((await loss(eps)) - (await loss(-eps))) / (2 * eps);
      await loss(0);
      expect(Math.abs(g[i] - numeric), `${name}[${i}]`).toBeLessThan(1e-7 * Math.max(1, Math.abs(numeric)));
    }
  }
}
