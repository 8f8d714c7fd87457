// The masked mixer's variants (SPEC §1): multi-head, expanded, kernel k > 1, row-softmax and bidirectional. Each
// stays causal (bidirectional: leak-free for the next token, as the paper argues), learns, has the same logits
// with fused and module feed-forward blocks, and decodes by re-running the prefix to the forward's logits.
import { describe, expect, it } from 'vitest';

import { Decoder } from '../../lib/decode/decoder.js';
import { LanguageModel } from '../../lib/model.js';
import type { ModelConfigInput } from '../../lib/model-config.js';
import { Trainer } from '../../lib/trainer.js';
import { maxRelativeError, randomTokens } from '../helpers.js';
import { decodeInPieces, expectClose, fullLogits } from '../decode/parity.js';

const V = 30;
const N = 12;
const BASE = { kind: 'mixer', vocabSize: V, dModel: 16, nLayers: 3, context: N, seed: 5 } as const;
const VARIANTS: Array<[string, ModelConfigInput]> = [
  ['multi-head (4 heads)', { ...BASE, nHeads: 4 }],
  ['expanded mixing (e = 2)', { ...BASE, mixingExpansion: 2 }],
  ['expanded mixing (e = 1/2)', { ...BASE, mixingExpansion: 0.5 }],
  ['kernel k = 3', { ...BASE, kernelSize: 3 }],
  ['kernel k = 2 with 2 heads', { ...BASE, kernelSize: 2, nHeads: 2 }],
  ['row-softmax', { ...BASE, mixingSoftmax: true }],
  ['expanded + row-softmax', { ...BASE, mixingExpansion: 2, mixingSoftmax: true }],
];
const BIDIRECTIONAL: ModelConfigInput = { ...BASE, bidirectional: true };
const BIDIRECTIONAL_HEADS: ModelConfigInput = { ...BASE, bidirectional: true, nHeads: 2, kernelSize: 2, mixingSoftmax: true };

async function logits(model: LanguageModel, tokens: Int32Array): Promise<Float32Array> {
  return (await model.forward(tokens)).toTypedArray() as Float32Array;
}

/** Positions whose logits changed between two [t, V] arrays. */
function changedPositions(a: Float32Array, b: Float32Array): number[] {
  const out: number[] = [];
  for (let t = 0; t < a.length / V; t++) if (a.subarray(t * V, (t + 1) * V).some((v, k) => v !== b[t * V + k])) out.push(t);
  return out;
}

async function lossFalls(config: ModelConfigInput): Promise<[number, number]> {
  const model = await LanguageModel.create(config);
  const tokens = randomTokens(4 * N, 8, 3); // a small alphabet: easy to fit
  const batch = { tokens, batch: 4 };
  const before = (await model.evalLoss(batch)).loss;
  const trainer = new Trainer(model, { learningRate: 3e-3, warmupSteps: 0, totalSteps: 40 });
  for (let i = 0; i < 25; i++) await trainer.step(batch);
  const after = (await model.evalLoss(batch)).loss;
  trainer.dispose();
  model.dispose();
  return [before, after];
}

describe('masked mixer variants', () => {
  for (const [name, config] of VARIANTS) {
    it(`${name}: changing token j leaves every earlier position's logits bit-identical`, async () => {
      const model = await LanguageModel.create(config);
      const base = randomTokens(N, V, 7);
      const baseLogits = await logits(model, base);
      for (const j of [0, 4, N - 1]) {
        const changed = Int32Array.from(base);
        changed[j] = (changed[j] + 11) % V;
        const moved = changedPositions(baseLogits, await logits(model, changed));
        expect(moved[0]).toBe(j); // j itself changes, nothing before it
      }
      model.dispose();
    });

    it(`${name}: trains, agrees with module blocks, and decodes by re-running the prefix`, async () => {
      const [before, after] = await lossFalls(config);
      expect(after).toBeLessThan(before - 0.3);

      const fused = await LanguageModel.create(config);
      const plain = await LanguageModel.create({ ...config, fused: false } as ModelConfigInput);
      const tokens = randomTokens(2 * N, V, 9);
      const full = await fullLogits(fused, tokens, 2);
      expect(maxRelativeError(await fullLogits(plain, tokens, 2), full)).toBeLessThan(1e-5);

      expect(fused.cachedDecoding).toBe(false);
      const decoder = new Decoder(fused, { batch: 2 });
      expect(decoder.mode).toBe('full-prefix');
      expectClose(await decodeInPieces(decoder, tokens, N, [5, 1, 1, 5]), full, name);
      expect(() => new Decoder(fused, { mode: 'cached' })).toThrow();
      fused.dispose();
      plain.dispose();
    });
  }

  it('the flat mixer keeps its checkpoint keys, config and cached decoder', async () => {
    const model = await LanguageModel.create(BASE);
    expect(Object.keys(model.stateDict()).filter((k) => k.startsWith('mixerblocks.0.'))).toEqual([
      'mixerblocks.0.seq_layernorm.weight',
      'mixerblocks.0.seq_layernorm.bias',
      'mixerblocks.0.conv.weight',
      'mixerblocks.0.conv.bias',
      'mixerblocks.0.patch_layernorm.weight',
      'mixerblocks.0.patch_layernorm.bias',
      'mixerblocks.0.patch_ff.0.weight',
      'mixerblocks.0.patch_ff.0.bias',
      'mixerblocks.0.patch_ff.2.weight',
      'mixerblocks.0.patch_ff.2.bias',
    ]);
    expect(Object.keys(model.config)).not.toContain('nHeads');
    expect(model.cachedDecoding).toBe(true);
    model.dispose();
  });

  it('variants store the reference layouts: conv [n, n, k], heads, expanded conv.0/conv.2, reverse blocks', async () => {
    const shapes = async (config: ModelConfigInput) => {
      const model = await LanguageModel.create(config);
      const out = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, t.shape]));
      model.dispose();
      return out;
    };
    expect((await shapes({ ...BASE, kernelSize: 3 }))['mixerblocks.0.conv.weight']).toEqual([N, N, 3]);
    const heads = await shapes({ ...BASE, nHeads: 4 });
    expect(heads['mixerblocks.1.conv.3.weight']).toEqual([N, N, 1]);
    expect(heads['mixerblocks.1.proj_head.3.weight']).toEqual([4, 16]);
    expect(heads['mixerblocks.1.out_proj.weight']).toEqual([16, 16]);
    const expanded = await shapes({ ...BASE, mixingExpansion: 2 });
    expect(expanded['mixerblocks.0.conv.0.weight']).toEqual([2 * N, N, 1]);
    expect(expanded['mixerblocks.0.conv.2.weight']).toEqual([N, 2 * N, 1]);
    expect((await shapes(BIDIRECTIONAL))['reverseblocks.2.conv.weight']).toEqual([N, N, 1]);
  });

  for (const [name, config] of [
    ['bidirectional', BIDIRECTIONAL],
    ['bidirectional, 2 heads, k = 2, softmax', BIDIRECTIONAL_HEADS],
  ] as const) {
    it(`${name}: position j−1 never sees token j (leak-free next-token prediction), but sees later tokens`, async () => {
      const model = await LanguageModel.create(config);
      const base = randomTokens(N, V, 7);
      const baseLogits = await logits(model, base);
      for (let j = 1; j < N; j++) {
        const changed = Int32Array.from(base);
        changed[j] = (changed[j] + 11) % V;
        const moved = changedPositions(baseLogits, await logits(model, changed));
        expect(moved).not.toContain(j - 1);
        expect(moved).toContain(j);
        // The reverse stream carries token j back to positions ≤ j − 2: the model is really bidirectional.
        if (j >= 2) expect(moved).toContain(j - 2);
      }
      model.dispose();
    });

    it(`${name}: trains, and full-prefix decoding equals the forward on each prefix`, async () => {
      const [before, after] = await lossFalls(config);
      expect(after).toBeLessThan(before - 0.3);
      const model = await LanguageModel.create(config);
      const tokens = randomTokens(N, V, 9);
      const decoder = new Decoder(model);
      expect(decoder.mode).toBe('full-prefix');
      for (const m of [4, 1, 7]) {
        const upTo = decoder.position + m;
        const last = (await decoder.prefill(tokens.subarray(upTo - m, upTo))).logits.toTypedArray() as Float32Array;
        const prefix = await fullLogits(model, tokens.subarray(0, upTo));
        expectClose(last, prefix.subarray((upTo - 1) * V, upTo * V), `${name} prefix ${upTo}`);
      }
      model.dispose();
    });
  }

  it('rejects variant configs that do not fit', async () => {
    await expect(LanguageModel.create({ ...BASE, nHeads: 3 })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(LanguageModel.create({ ...BASE, bidirectional: true, mixingExpansion: 2 })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
