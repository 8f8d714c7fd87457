// The generalized linear mixer (kind 'linear', SPEC §5), for every pattern: exact causality; with B = 0 and static
// coefficients it is the masked mixer; parameter gradients against finite differences (fp64); learning; checkpoints;
// config errors.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadModel, saveModel } from '../../lib/checkpoint.js';
import { LINEAR_PATTERNS, type LinearPattern } from '../../lib/model-config.js';
import { LanguageModel } from '../../lib/model.js';
import { Tensor } from '../../lib/tensor.js';
import { Trainer } from '../../lib/trainer.js';
import { expectExactlyCausal } from '../causality.js';
import { expectGradientsMatchFiniteDifferences } from '../finite-difference-gradients.js';
import { maxRelativeError, randomTokens } from '../helpers.js';

const V = 40;
type Coefficients = 'static' | 'gated';
const config = (pattern: LinearPattern, coefficients: Coefficients = 'static', overrides: Record<string, unknown> = {}) =>
  ({ kind: 'linear' as const, vocabSize: V, dModel: 16, nLayers: 2, nHeads: 4, context: 14, order: 3, window: 4, seed: 6, pattern, coefficients, ...overrides });

async function logits(model: LanguageModel, tokens: Int32Array, batch = 1): Promise<Float32Array | Float64Array> {
  return (await model.forward(tokens, batch)).toTypedArray() as Float32Array;
}

describe('linear mixer', () => {
  for (const pattern of LINEAR_PATTERNS) {
    it(`${pattern}: changing token j leaves every logit before j bit-identical (static and gated)`, async () => {
      for (const coefficients of ['static', 'gated'] as const) {
        const n = 14;
        const model = await LanguageModel.create(config(pattern, coefficients));
        await expectExactlyCausal(model, randomTokens(n, V, 3), [0, 1, 7, n - 1], coefficients);
        model.dispose();
      }
    });
  }

  it("with B = 0 (pattern 'attention', static, no projections) it is the masked mixer with the same weights", async () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const n = 12;
      const mixer = await LanguageModel.create({ kind: 'mixer', vocabSize: V, dModel: 16, nLayers: 2, context: n, seed: 4, dtype });
      const linear = await LanguageModel.create({ ...config('attention', 'static', { context: n, nHeads: 1, projections: false, dtype }) });
      const state = mixer.stateDict();
      const mapped: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(state)) {
        const conv = name.match(/^mixerblocks\.(\d+)\.conv\.(weight|bias)$/);
        if (!conv) {
          mapped[name] = t;
        } else if (conv[2] === 'bias') {
          mapped[`mixerblocks.${conv[1]}.mix.bias`] = Tensor.from(t.toTypedArray(), [1, n]);
        } else {
          // The mixer's W[i, j] is the linear mixer's α[i, lag i − j].
          const w = t.toTypedArray() as Float32Array;
          const alpha = dtype === 'float64' ? new Float64Array(n * n) : new Float32Array(n * n);
          for (let i = 0; i < n; i++) for (let l = 0; l <= i; l++) alpha[i * n + l] = w[i * n + (i - l)];
          mapped[`mixerblocks.${conv[1]}.mix.alpha`] = Tensor.from(alpha, [1, n, n]);
        }
      }
      linear.loadStateDict(mapped);
      const tokens = randomTokens(3 * n, V, 5);
      const a = await logits(mixer, tokens, 3);
      const b = await logits(linear, tokens, 3);
      expect(maxRelativeError(b, a), dtype).toBeLessThan(dtype === 'float64' ? 1e-13 : 1e-6);
      mixer.dispose();
      linear.dispose();
    }
  });

  const gradientCases: Array<[LinearPattern, Coefficients]> = [
    ['attention', 'static'],
    ['local', 'gated'],
    ['first-order', 'static'],
    ['kth-order', 'gated'],
    ['dense', 'static'],
    ['pow2', 'gated'],
    ['square-lattice', 'static'],
    ['pow2-lattice', 'gated'],
  ];
  for (const [pattern, coefficients] of gradientCases) {
    it(`${pattern} (${coefficients}): parameter gradients equal central finite differences of the loss (fp64)`, async () => {
      const model = await LanguageModel.create(config(pattern, coefficients, { dtype: 'float64', nLayers: 1, context: 8, dModel: 8, nHeads: 2 }));
      const batch = { tokens: randomTokens(2 * 8, V, 4), batch: 2 };
      await expectGradientsMatchFiniteDifferences(model, batch, (length) => new Set([0, Math.floor(length / 3), length - 1]));
      model.dispose();
    });
  }

  it('trains: the loss on a repeated batch falls, static and gated', async () => {
    for (const [pattern, coefficients] of [['square-lattice', 'static'], ['pow2', 'gated'], ['first-order', 'gated']] as const) {
      const model = await LanguageModel.create(config(pattern, coefficients));
      const trainer = new Trainer(model, { learningRate: 3e-3 });
      const tokens = randomTokens(4 * 14, V, 5);
      const first = (await trainer.step({ tokens, batch: 4 })).loss!;
      let last = first;
      for (let i = 0; i < 30; i++) last = (await trainer.step({ tokens, batch: 4 })).loss!;
      expect(last, `${pattern} ${coefficients}`).toBeLessThan(first - 1);
      trainer.dispose();
      model.dispose();
    }
  });

  it('saves and reloads to bit-identical logits, with its own parameter names and config', async () => {
    for (const [pattern, coefficients] of [['pow2-lattice', 'static'], ['local', 'gated'], ['attention', 'static']] as const) {
      const model = await LanguageModel.create(config(pattern, coefficients));
      const dir = mkdtempSync(join(tmpdir(), 'maskmix-linear-'));
      await saveModel(model, dir);
      const saved = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      expect(saved).toMatchObject({ kind: 'linear', pattern, coefficients, nHeads: 4, order: 3, window: 4, projections: true });
      const loaded = await loadModel(dir);
      const tokens = randomTokens(14, V, 8);
      expect(Array.from(await logits(loaded, tokens))).toEqual(Array.from(await logits(model, tokens)));
      const shapes = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, t.shape]));
      expect(shapes['mixerblocks.1.mix.in_proj.weight']).toEqual([16, 16]);
      expect(shapes['mixerblocks.0.mix.out_proj.bias']).toEqual([16]);
      if (coefficients === 'static') {
        expect(shapes['mixerblocks.0.mix.alpha']).toEqual([4, 14, pattern === 'attention' ? 14 : 1]);
        expect(shapes['mixerblocks.0.mix.bias']).toEqual([4, 14]);
        // pow2-lattice up to n = 14: offsets 1, 2, 4, 8.
        if (pattern === 'pow2-lattice') expect(shapes['mixerblocks.0.mix.beta']).toEqual([4, 14, 4]);
        else expect(shapes['mixerblocks.0.mix.beta']).toBeUndefined();
      } else {
        expect(shapes['mixerblocks.0.mix.gate_weight']).toEqual([4, 4, 4]); // local window 4, no B
        expect(shapes['mixerblocks.0.mix.gate_bias']).toEqual([4, 4]);
      }
      model.dispose();
      loaded.dispose();
    }
  });

  it('rejects configs it cannot build, naming the field', async () => {
    await expect(LanguageModel.create({ ...config('pow2'), nHeads: 3 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/nHeads: nHeads must divide dModel/),
    });
    await expect(LanguageModel.create({ ...config('pow2'), projections: false })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/without projections nHeads must be 1/),
    });
    await expect(LanguageModel.create({ ...config('pow2'), pattern: 'fibonacci' as never })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/pattern must be one of attention, local/),
    });
    await expect(LanguageModel.create({ ...config('pow2'), coefficients: 'learned' as never })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    const model = await LanguageModel.create(config('first-order'));
    await expect(model.forward(randomTokens(15, V, 1))).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    model.dispose();
  });
});
