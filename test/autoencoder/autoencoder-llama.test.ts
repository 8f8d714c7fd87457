// The autoencoder built from Llama decoder layers (blocks 'llama', the paper's transformer autoencoder): its config
// and Hugging Face-style keys, the loss at offset 0, the last token reaching position 0, both variants learning a
// tiny set, and a checkpoint round trip; the default mixer autoencoder keeps its keys and config exactly.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { evaluateReconstruction } from '../../lib/autoencoder.js';
import { loadModel, saveModel } from '../../lib/checkpoint.js';
import { resolveModelConfig } from '../../lib/model-config.js';
import { LanguageModel } from '../../lib/model.js';
import { Trainer } from '../../lib/trainer.js';
import { randomTokens } from '../helpers.js';
import { lastTokenEffectOnFirstPosition, logitsOf, meanOffsetZeroCrossEntropy } from './autoencoder-checks.js';

const V = 32;
const T = 8;
const config = (variant: 'plain' | 'memory') =>
  ({ kind: 'autoencoder', vocabSize: V, dModel: 32, nLayers: 2, context: T, seed: 4, variant, blocks: 'llama', nHeads: 2 }) as const;

function shapesOf(model: LanguageModel): Record<string, number[]> {
  const state = model.stateDict();
  const shapes = Object.fromEntries(Object.entries(state).map(([k, v]) => [k, v.shape]));
  for (const tensor of Object.values(state)) tensor.dispose();
  return shapes;
}

describe("autoencoder blocks 'llama'", () => {
  it('fills the Llama defaults, refuses Llama fields on mixer blocks and uneven heads', () => {
    expect(resolveModelConfig({ kind: 'autoencoder', vocabSize: V, dModel: 16, nLayers: 1, context: 4, blocks: 'llama' })).toMatchObject({
      blocks: 'llama',
      nHeads: 4,
      intermediateSize: 64,
      ropeTheta: 10000,
      normEps: 1e-5,
    });
    expect(resolveModelConfig({ kind: 'autoencoder', vocabSize: V, dModel: 16, nLayers: 1, context: 4 })).not.toHaveProperty('blocks');
    expect(() => resolveModelConfig({ kind: 'autoencoder', vocabSize: V, dModel: 16, nLayers: 1, context: 4, nHeads: 2 })).toThrow(/need blocks 'llama'/);
    expect(() => resolveModelConfig({ ...config('plain'), blocks: 'gru' })).toThrow(/blocks must be one of mixer, llama/);
    expect(() => resolveModelConfig({ ...config('plain'), nHeads: 32 })).toThrow(/heads of even width/);
  });

  it('names its weights as Hugging Face LlamaModel stacks, and the native config round-trips', async () => {
    const plain = await LanguageModel.create(config('plain'));
    const shapes = shapesOf(plain);
    expect(shapes['wte.weight']).toEqual([V, 32]);
    expect(shapes['encoder.layers.1.self_attn.q_proj.weight']).toEqual([32, 32]);
    expect(shapes['encoder.layers.0.mlp.gate_proj.weight']).toEqual([128, 32]);
    expect(shapes['encoder.layers.0.input_layernorm.weight']).toEqual([32]);
    expect(shapes['encoder.norm.weight']).toEqual([32]);
    expect(shapes['decoder.layers.1.mlp.down_proj.weight']).toEqual([32, 128]);
    expect(shapes['decoder.layers.1.post_attention_layernorm.weight']).toEqual([32]);
    expect(shapes['decoder.embed_positions.weight']).toEqual([T, 32]);
    expect(shapes['lm_head.weight']).toEqual([V, 32]);
    // wte, lm_head, 2 stacks × (2 layers × 9 + norm), the plain decoder's positions.
    expect(Object.keys(shapes)).toHaveLength(2 + 2 * (2 * 9 + 1) + 1);
    expect(plain.config).toMatchObject({ blocks: 'llama', nHeads: 2, intermediateSize: 128, variant: 'plain' });
    plain.dispose();
    const memory = await LanguageModel.create(config('memory'));
    expect(Object.keys(shapesOf(memory))).not.toContain('decoder.embed_positions.weight');
    memory.dispose();
  });

  it('the default mixer autoencoder keeps its keys and config', async () => {
    const model = await LanguageModel.create({ kind: 'autoencoder', vocabSize: V, dModel: 8, nLayers: 1, context: 4 });
    const block = ['seq_layernorm.weight', 'seq_layernorm.bias', 'conv.weight', 'conv.bias', 'patch_layernorm.weight', 'patch_layernorm.bias'];
    const ff = ['patch_ff.0.weight', 'patch_ff.0.bias', 'patch_ff.2.weight', 'patch_ff.2.bias'];
    const expected = ['wte.weight', ...['encoder', 'decoder'].flatMap((s) => [...block, ...ff].map((k) => `${s}.0.${k}`)), 'lm_head.weight'];
    expect(Object.keys(shapesOf(model)).sort()).toEqual(expected.sort());
    expect(Object.keys(model.config).sort()).toEqual(
      ['kind', 'vocabSize', 'dModel', 'nLayers', 'context', 'padId', 'seed', 'device', 'dtype', 'fused', 'ffMultiplier', 'variant'].sort(),
    );
    model.dispose();
  });

  it('fused and module blocks give the same logits', async () => {
    const tokens = randomTokens(2 * T, V, 3);
    for (const variant of ['plain', 'memory'] as const) {
      const fused = await LanguageModel.create(config(variant));
      const modules = await LanguageModel.create({ ...config(variant), fused: false });
      const a = await logitsOf(fused, tokens, 2);
      const b = await logitsOf(modules, tokens, 2);
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 4);
      fused.dispose();
      modules.dispose();
    }
  });

  for (const variant of ['plain', 'memory'] as const) {
    it(`${variant}: the loss is the cross-entropy of token i at position i, as computed from the logits`, async () => {
      const model = await LanguageModel.create(config(variant));
      const tokens = randomTokens(2 * T, V, 9);
      const logits = await logitsOf(model, tokens, 2);
      const { loss, targets } = await model.evalLoss({ tokens, batch: 2 }, { precision: 'fp32' });
      expect(targets).toBe(2 * T);
      expect(loss).toBeCloseTo(meanOffsetZeroCrossEntropy(logits, tokens, V), 4);
      model.dispose();
    });

    it(`${variant}: the last token reaches the first position's output (through the embedding)`, async () => {
      const model = await LanguageModel.create(config(variant));
      expect(await lastTokenEffectOnFirstPosition(model, T, V)).toBeGreaterThan(1e-6);
      model.dispose();
    });

    it(`${variant}: learns to reconstruct a small set, and a checkpoint reloads to identical logits`, async () => {
      const model = await LanguageModel.create(config(variant));
      const tokens = randomTokens(4 * T, V, 11);
      const trainer = new Trainer(model, { learningRate: 3e-3, warmupSteps: 0 });
      const first = (await trainer.step({ tokens, batch: 4 })).loss!;
      for (let i = 0; i < 200; i++) await trainer.step({ tokens, batch: 4 });
      trainer.dispose();
      const stats = await evaluateReconstruction(model, { data: tokens, numSequences: 4, context: T, realTokens: 4 * T });
      expect(stats.accuracy).toBeGreaterThan(0.9);
      expect(stats.loss).toBeLessThan(first / 3);

      const dir = mkdtempSync(join(tmpdir(), 'maskmix-ae-llama-'));
      await saveModel(model, dir);
      const loaded = await loadModel(dir);
      expect(loaded.config).toMatchObject({ kind: 'autoencoder', blocks: 'llama', variant });
      expect(Array.from(await logitsOf(loaded, tokens, 4))).toEqual(Array.from(await logitsOf(model, tokens, 4)));
      loaded.dispose();
      model.dispose();
    });
  }
});
