// The fused sublayer functions (ops/prenorm_sublayers) against the same block run through separate libtorch
// modules and libtorch's own autograd: equal loss and equal gradients for every parameter, in float64.
import { describe, expect, it } from 'vitest';

import { LanguageModel } from '../../lib/model.js';
import { randomTokens } from '../helpers.js';

const CONFIG = { vocabSize: 30, dModel: 12, nLayers: 2, context: 9, seed: 5, dtype: 'float64' as const };

/** Loss and every parameter gradient of the fused and the module-by-module model agree to fp64 rounding. */
async function expectSameGradients(fused: LanguageModel, plain: LanguageModel, batch: { tokens: Int32Array; batch: number }) {
  const a = await fused.lossGradients(batch);
  const b = await plain.lossGradients(batch);
  expect(a.loss).toBeCloseTo(b.loss, 12);
  expect(Object.keys(a.gradients).sort()).toEqual(Object.keys(b.gradients).sort());
  for (const [name, g] of Object.entries(a.gradients)) {
    const x = g.toTypedArray() as Float64Array;
    const y = b.gradients[name].toTypedArray() as Float64Array;
    const scale = Math.max(1e-12, ...Array.from(y, Math.abs));
    for (let i = 0; i < x.length; i++) expect(Math.abs(x[i] - y[i]) / scale, `${name}[${i}]`).toBeLessThan(1e-10);
  }
}

describe('fused llama blocks (RMSNorm, SwiGLU, rotary as single functions)', () => {
  it('give the same loss and parameter gradients as the module-by-module blocks (fp64)', async () => {
    const config = { kind: 'llama' as const, vocabSize: 30, dModel: 16, nHeads: 2, nLayers: 2, context: 9, seed: 5, dtype: 'float64' as const };
    const fused = await LanguageModel.create({ ...config, fused: true });
    const plain = await LanguageModel.create({ ...config, fused: false });
    await expectSameGradients(fused, plain, { tokens: randomTokens(3 * 9, 30, 8), batch: 3 });
    fused.dispose();
    plain.dispose();
  });
});

describe('fused masked mixer blocks', () => {
  it('give the same loss and parameter gradients as the module-by-module block (fp64)', async () => {
    const fused = await LanguageModel.create({ ...CONFIG, fused: true });
    const plain = await LanguageModel.create({ ...CONFIG, fused: false });
    const batch = { tokens: randomTokens(3 * 9, 30, 8), batch: 3 };
    await expectSameGradients(fused, plain, batch);
    // Shorter inputs use the top-left corner of the mixing matrices in both paths.
    await expectSameGradients(fused, plain, { tokens: randomTokens(2 * 5, 30, 9), batch: 2 });
    fused.dispose();
    plain.dispose();
  });

  it('gradients match central finite differences of the loss (fp64)', async () => {
    const model = await LanguageModel.create({ ...CONFIG, nLayers: 1 });
    const batch = { tokens: randomTokens(2 * 9, 30, 4), batch: 2 };
    const { gradients } = await model.lossGradients(batch);
    const state = model.stateDict();
    const eps = 1e-6;
    // A few entries of every parameter: perturb in place through a reload of the state dict.
    for (const name of Object.keys(state)) {
      const base = state[name].toTypedArray() as Float64Array;
      const g = gradients[name].toTypedArray() as Float64Array;
      for (const i of [0, Math.floor(base.length / 2), base.length - 1]) {
        const loss = async (delta: number) => {
          const copy = Float64Array.from(base);
          copy[i] += delta;
          const { Tensor } = await import('../../lib/tensor.js');
          model.loadStateDict({ ...model.stateDict(), [name]: Tensor.from(copy, state[name].shape) });
          return (await model.evalLoss(batch)).loss;
        };
        const numeric = ((await loss(eps)) - (await loss(-eps))) / (2 * eps);
        await loss(0);
        // Entries above the diagonal of a mixing matrix have no effect: zero both ways.
        expect(Math.abs(g[i] - numeric), `${name}[${i}]`).toBeLessThan(1e-7 * Math.max(1, Math.abs(numeric)));
      }
    }
    model.dispose();
  });
});
