// The masked-mixer autoencoder (model kind 'autoencoder', SPEC §4): its loss scores position i against token i
// (checked against the logits by hand), every decoder position is conditioned on the encoder's last-position
// embedding, both variants learn to reconstruct, and the evaluation helpers refuse other models.
import { describe, expect, it } from 'vitest';

import { evaluateReconstruction, reconstruct } from '../../lib/autoencoder.js';
import { resolveModelConfig } from '../../lib/model-config.js';
import { LanguageModel } from '../../lib/model.js';
import { Trainer } from '../../lib/trainer.js';
import { randomTokens, tinyModel } from '../helpers.js';
import { lastTokenEffectOnFirstPosition, logitsOf, meanOffsetZeroCrossEntropy } from './autoencoder-checks.js';

const V = 32;
const T = 8;
const config = (variant: 'plain' | 'memory') => ({ kind: 'autoencoder' as const, vocabSize: V, dModel: 32, nLayers: 2, context: T, seed: 4, variant });

describe('autoencoder', () => {
  it('validates its config: plain by default, unknown variants refused', () => {
    expect(resolveModelConfig({ kind: 'autoencoder', vocabSize: V, dModel: 8, nLayers: 1, context: 4 })).toMatchObject({ variant: 'plain', ffMultiplier: 4 });
    expect(() => resolveModelConfig({ ...config('plain'), variant: 'sideways' })).toThrow(/variant must be one of plain, memory/);
  });

  it('has an encoder stack, a decoder stack and the masked mixer parameter names', async () => {
    const model = await LanguageModel.create(config('plain'));
    const names = Object.keys(model.stateDict());
    expect(names).toContain('wte.weight');
    expect(names).toContain('encoder.1.conv.weight');
    expect(names).toContain('decoder.1.patch_ff.2.bias');
    expect(names).toContain('lm_head.weight');
    model.dispose();
  });

  for (const variant of ['plain', 'memory'] as const) {
    it(`${variant}: the loss is the cross-entropy of token i at position i (offset 0), as computed from the logits`, async () => {
      const model = await LanguageModel.create(config(variant));
      const tokens = randomTokens(2 * T, V, 9);
      const logits = await logitsOf(model, tokens, 2);
      const { loss, targets } = await model.evalLoss({ tokens, batch: 2 }, { precision: 'fp32' });
      expect(targets).toBe(2 * T);
      expect(loss).toBeCloseTo(meanOffsetZeroCrossEntropy(logits, tokens, V), 4);
      const logProbs = await model.logProbs(tokens, 2);
      expect(logProbs.length).toBe(2 * T);
      model.dispose();
    });
  }

  for (const variant of ['plain', 'memory'] as const) {
    it(`${variant}: the last token reaches the first position's output (through the embedding)`, async () => {
      // In a causal language model position 0 never sees a later token; here the decoder's every position is
      // conditioned on the encoder's last-position state, which has read the whole input.
      const model = await LanguageModel.create(config(variant));
      expect(await lastTokenEffectOnFirstPosition(model, T, V)).toBeGreaterThan(1e-6);
      model.dispose();
    });
  }

  for (const variant of ['plain', 'memory'] as const) {
    it(`${variant}: learns to reconstruct a small set of sequences`, async () => {
      const model = await LanguageModel.create(config(variant));
      const tokens = randomTokens(4 * T, V, 11);
      const trainer = new Trainer(model, { learningRate: 3e-3, warmupSteps: 0 });
      const first = (await trainer.step({ tokens, batch: 4 })).loss!;
      let last = first;
      for (let i = 0; i < 150; i++) last = (await trainer.step({ tokens, batch: 4 })).loss!;
      expect(last).toBeLessThan(first / 3);
      const stats = await evaluateReconstruction(model, { data: tokens, numSequences: 4, context: T, realTokens: 4 * T });
      expect(stats).toMatchObject({ sequences: 4, tokens: 4 * T });
      expect(stats.accuracy).toBeGreaterThan(0.9);
      expect(stats.loss).toBeLessThan(first / 3);
      const predicted = await reconstruct(model, tokens.subarray(0, T), 1);
      expect(predicted.length).toBe(T);
      trainer.dispose();
      model.dispose();
    });
  }

  it('the reconstruction helpers refuse a language model', async () => {
    const model = await tinyModel();
    await expect(reconstruct(model, [1, 2, 3])).rejects.toThrow(/needs an autoencoder/);
    model.dispose();
  });
});
