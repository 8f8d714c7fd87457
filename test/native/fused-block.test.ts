// The fused sublayer functions (ops/prenorm_sublayers) against the same block run through separate libtorch
// modules and libtorch's own autograd: equal loss and equal gradients for every parameter, in float64.
import { describe, expect, it } from 'vitest';

import { LanguageModel } from '../../lib/model.js';
import { expectGradientsMatchFiniteDifferences } from '../finite-difference-gradients.js';
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

  // MASKMIX_MIXING_PANELS cuts each causal product into row panels that stop at the diagonal (ops/causal_products):
  // three panels at t = 40 (edges 0, 16, 32, 40) and at t = 20 (0, 8, 16, 20) give the module-by-module gradients.
  it('give the reference gradients with the causal products cut into panels (fp64)', async () => {
    const config = { ...CONFIG, context: 40 };
    process.env.MASKMIX_MIXING_PANELS = '3';
    try {
      const fused = await LanguageModel.create({ ...config, fused: true });
      const plain = await LanguageModel.create({ ...config, fused: false });
      await expectSameGradients(fused, plain, { tokens: randomTokens(2 * 40, 30, 7), batch: 2 });
      await expectSameGradients(fused, plain, { tokens: randomTokens(3 * 20, 30, 3), batch: 3 });
      fused.dispose();
      plain.dispose();
    } finally {
      delete process.env.MASKMIX_MIXING_PANELS;
    }
  });

  // The language model's blocks defer each residual add into the next LayerNorm (two blocks: a deferred add crosses
  // a block boundary); the autoencoder's run each sublayer with its own add. Both against the module-by-module blocks.
  it('give the reference gradients without deferred residual adds too (autoencoder blocks, fp64)', async () => {
    const config = { ...CONFIG, kind: 'autoencoder' as const, variant: 'plain' as const };
    const fused = await LanguageModel.create({ ...config, fused: true } as never);
    const plain = await LanguageModel.create({ ...config, fused: false } as never);
    await expectSameGradients(fused, plain, { tokens: randomTokens(2 * 9, 30, 6), batch: 2 });
    fused.dispose();
    plain.dispose();
  });

  it('gradients match central finite differences of the loss (fp64)', async () => {
    const model = await LanguageModel.create({ ...CONFIG, nLayers: 2 });
    const batch = { tokens: randomTokens(2 * 9, 30, 4), batch: 2 };
    // A few entries of every parameter. Entries above the diagonal of a mixing matrix have no effect: zero both ways.
    await expectGradientsMatchFiniteDifferences(model, batch, (length) => [0, Math.floor(length / 2), length - 1]);
    model.dispose();
  });
});
