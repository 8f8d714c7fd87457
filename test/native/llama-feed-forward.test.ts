// The two halves of a fused Llama layer as single autograd functions (ops/llama_attention_input: norm, q/k/v
// projections and rotary; ops/llama_feed_forward: norm and SwiGLU MLP with the residual), used when
// MASKMIX_LLAMA_RECOMPUTE=1: they recompute the norms' outputs and silu(gate)·up in backward instead of saving them.
// Checked against the module-by-module reference (fused: false) in float64 and float32, against finite differences
// of the loss, and by training; the default fused path (saving) against the same reference.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { LanguageModel } from '../../lib/model.js';
import { Trainer } from '../../lib/trainer.js';
import { expectGradientsMatchFiniteDifferences } from '../finite-difference-gradients.js';
import { randomTokens } from '../helpers.js';

const LLAMA = { kind: 'llama' as const, vocabSize: 30, dModel: 16, nHeads: 2, nLayers: 2, context: 9, seed: 7 };

/** Largest |a − b| over every gradient entry, relative to the largest |b| of that parameter. */
async function compareFusedAndPlain(config: Record<string, unknown>, batch: { tokens: Int32Array; batch: number }) {
  const fused = await LanguageModel.create({ ...LLAMA, ...config, fused: true } as never);
  const plain = await LanguageModel.create({ ...LLAMA, ...config, fused: false } as never);
  const a = await fused.lossGradients(batch);
  const b = await plain.lossGradients(batch);
  expect(Object.keys(a.gradients).sort()).toEqual(Object.keys(b.gradients).sort());
  let worst = 0;
  for (const [name, g] of Object.entries(a.gradients)) {
    const x = g.toTypedArray() as Float64Array | Float32Array;
    const y = b.gradients[name].toTypedArray() as Float64Array | Float32Array;
    expect(x.length, name).toBe(y.length);
    const scale = Math.max(1e-12, ...Array.from(y, Math.abs));
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / scale);
  }
  fused.dispose();
  plain.dispose();
  return { lossFused: a.loss, lossPlain: b.loss, worst };
}

/** A few entries of every parameter gradient of a float64 Llama (LLAMA with `nLayers`) against central finite differences. */
async function expectFiniteDifferenceGradients(nLayers: number, pick: (length: number) => number[]) {
  const model = await LanguageModel.create({ ...LLAMA, nLayers, intermediateSize: 20, dtype: 'float64' });
  await expectGradientsMatchFiniteDifferences(model, { tokens: randomTokens(2 * 9, 30, 4), batch: 2 }, pick);
  model.dispose();
}

/** Runs the enclosing describe with MASKMIX_LLAMA_RECOMPUTE set to `value` (undefined: unset); a model reads it when built. */
function withRecomputeSetting(value: string | undefined) {
  const before = process.env.MASKMIX_LLAMA_RECOMPUTE;
  const set = (v: string | undefined) => {
    if (v === undefined) delete process.env.MASKMIX_LLAMA_RECOMPUTE;
    else process.env.MASKMIX_LLAMA_RECOMPUTE = v;
  };
  beforeAll(() => set(value));
  afterAll(() => set(before));
}

describe('llama layer halves as single autograd functions (MASKMIX_LLAMA_RECOMPUTE=1)', () => {
  withRecomputeSetting('1');

  it('gives the reference loss and every parameter gradient in float64, at two widths of the hidden layer', async () => {
    for (const intermediateSize of [64, 24]) {
      const r = await compareFusedAndPlain({ dtype: 'float64', intermediateSize }, { tokens: randomTokens(3 * 9, 30, 8), batch: 3 });
      expect(r.lossFused).toBeCloseTo(r.lossPlain, 12);
      expect(r.worst, `intermediateSize ${intermediateSize}`).toBeLessThan(1e-10);
    }
  });

  it('agrees with the reference in float32 to float32 rounding (odd length, d 32)', async () => {
    const r = await compareFusedAndPlain({ dModel: 32, nHeads: 4, dtype: 'float32' }, { tokens: randomTokens(2 * 7, 30, 3), batch: 2 });
    expect(Math.abs(r.lossFused - r.lossPlain)).toBeLessThan(1e-5);
    expect(r.worst).toBeLessThan(1e-4);
  });

  it('gradients match central finite differences of the loss (float64)', async () => {
    await expectFiniteDifferenceGradients(1, (length) => [0, Math.floor(length / 3), length - 1]);
  });

  it('trains: a few steps on a repeated batch lower the loss', async () => {
    const model = await LanguageModel.create({ ...LLAMA, fused: true });
    const trainer = new Trainer(model, { learningRate: 3e-3 });
    const tokens = randomTokens(4 * 9, 30, 5);
    const first = (await trainer.step({ tokens, batch: 4 })).loss!;
    let last = first;
    for (let i = 0; i < 15; i++) last = (await trainer.step({ tokens, batch: 4 })).loss!;
    expect(last).toBeLessThan(first - 0.5);
    model.dispose();
  });
});

describe('llama fused layers by default (norm outputs saved; silu(gate)·up written again in backward by swigluDown)', () => {
  withRecomputeSetting(undefined);

  it('give the reference loss and every parameter gradient in float64', async () => {
    const r = await compareFusedAndPlain({ dtype: 'float64', intermediateSize: 24 }, { tokens: randomTokens(3 * 9, 30, 8), batch: 3 });
    expect(r.lossFused).toBeCloseTo(r.lossPlain, 12);
    expect(r.worst).toBeLessThan(1e-10);
  });

  // The layers hand each other the residual stream and their feed-forward output, added inside the next norm
  // (residualRmsNorm); three layers so that a deferred add crosses two layer boundaries and the final norm.
  it('gradients match central finite differences of the loss through deferred residual adds (float64, 3 layers)', async () => {
    await expectFiniteDifferenceGradients(3, (length) => [0, Math.floor(length / 2), length - 1]);
  });
});
