// Input representation (SPEC §4): an untrained masked mixer's last hidden layer gives its input back almost
// exactly; a transformer's of similar size does not (paper §3.3, Figure 3).
import { describe, expect, it } from 'vitest';

import { invertInput } from '../../lib/inversion.js';
import { LanguageModel } from '../../lib/model.js';
import { randomTokens } from '../helpers.js';

const V = 50;
const N = 16;

describe('inversion', () => {
  it('recovers a short input from an untrained mixer; the transformer of similar size recovers less', async () => {
    const tokens = randomTokens(N, V - 1, 11).map((t) => t + 1); // no pad token (id 0) in the input
    // Four blocks of width 64 each; the transformer with many narrow heads, as the paper's (h = 32).
    const mixer = await LanguageModel.create({ kind: 'mixer', vocabSize: V, dModel: 64, nLayers: 4, context: N, seed: 1 });
    const llama = await LanguageModel.create({ kind: 'llama', vocabSize: V, dModel: 64, nLayers: 4, nHeads: 16, context: N, seed: 1 });
    const m = await invertInput(mixer, tokens, {});
    const l = await invertInput(llama, tokens, {});
    console.log(`Hamming: mixer ${m.hamming.toFixed(3)} (L1 ${m.initialLoss.toFixed(2)} → ${m.loss.toFixed(4)}), llama ${l.hamming.toFixed(3)} (L1 ${l.initialLoss.toFixed(2)} → ${l.loss.toFixed(4)})`);
    expect(m.hamming).toBeLessThan(0.05);
    expect(l.hamming).toBeGreaterThan(m.hamming + 0.2);
    expect(m.loss).toBeLessThan(m.initialLoss);
    expect(m.tokens.length).toBe(N);
    mixer.dispose();
    llama.dispose();
  }, 60_000);

  it('ignores pad positions, leaves the weights alone, checks its layer, and is reproducible by seed', async () => {
    const model = await LanguageModel.create({ kind: 'mixer', vocabSize: V, dModel: 32, nLayers: 2, context: N, seed: 2 });
    const before = model.stateDict()['wte.weight'].toTypedArray().slice();
    const tokens = Int32Array.from(randomTokens(8, V - 1, 3).map((t) => t + 1));
    tokens[6] = 0; // pad
    tokens[7] = 0;
    const a = await invertInput(model, tokens, { layer: 1, iterations: 50, seed: 4 });
    const b = await invertInput(model, tokens, { layer: 1, iterations: 50, seed: 4 });
    expect(Array.from(a.tokens)).toEqual(Array.from(b.tokens));
    const wrong = Array.from(a.tokens).slice(0, 6).filter((t, i) => t !== tokens[i]).length;
    expect(a.hamming).toBeCloseTo(wrong / 6, 10);
    expect(Array.from(model.stateDict()['wte.weight'].toTypedArray() as Float32Array)).toEqual(Array.from(before as Float32Array));
    await expect(invertInput(model, tokens, { layer: 3 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    model.dispose();
  });

  it('inverts a two-sequence batch and a variant mixer', async () => {
    const model = await LanguageModel.create({ kind: 'mixer', vocabSize: V, dModel: 32, nLayers: 1, context: N, seed: 2, nHeads: 2 });
    const tokens = Int32Array.from(randomTokens(2 * 8, V - 1, 5).map((t) => t + 1));
    const r = await invertInput(model, tokens, { batch: 2, iterations: 100 });
    expect(r.tokens.length).toBe(16);
    expect(r.loss).toBeLessThan(r.initialLoss);
    model.dispose();
  });
});
