// Decoder.greedy: count greedy steps in one native call give exactly the tokens a loop of step() + argmax gives,
// for every kind of decoder; its arguments and the context limit are checked. (On a GPU the repeat mixers replay a
// CUDA graph instead: scripts/gpu/check-decoding.mjs compares that path with this one.)
import { describe, expect, it } from 'vitest';

import { Decoder, type DecoderMode } from '../../lib/decode/decoder.js';
import { LanguageModel } from '../../lib/model.js';
import type { ModelConfigInput } from '../../lib/model-config.js';
import { randomizeRepeatWeights, randomTokens } from '../helpers.js';
import { stepLoop } from './parity.js';

const V = 40;
const n = 24;
const code = (c: string) => expect.objectContaining({ code: c });

describe('Decoder.greedy', () => {
  const cases: Array<[string, ModelConfigInput, DecoderMode]> = [
    ['repeat mixer (mixed)', { kind: 'repeat', vocabSize: V, dModel: 16, nLayers: 2, nHeads: 2, context: n, seed: 3 }, 'cached'],
    ['repeat mixer (toeplitz)', { kind: 'repeat', structure: 'toeplitz', vocabSize: V, dModel: 16, nLayers: 2, nHeads: 2, context: n, seed: 3 }, 'cached'],
    ['masked mixer', { kind: 'mixer', vocabSize: V, dModel: 16, nLayers: 2, context: n, seed: 3 }, 'cached'],
    ['masked mixer, full prefix', { kind: 'mixer', vocabSize: V, dModel: 16, nLayers: 2, context: n, seed: 3 }, 'full-prefix'],
    ['llama', { kind: 'llama', vocabSize: V, dModel: 16, nLayers: 2, nHeads: 2, context: n, seed: 3 }, 'cached'],
  ];
  for (const [name, config, mode] of cases) {
    it(`${name}: equals a loop of step() and argmax`, async () => {
      const model = await LanguageModel.create(config);
      if (config.kind === 'repeat') await randomizeRepeatWeights(model, 4);
      const batch = 2;
      const prompt = randomTokens(batch * 5, V, 9);
      const a = new Decoder(model, { batch, mode });
      const b = new Decoder(model, { batch, mode });
      await a.prefill(prompt);
      await b.prefill(prompt);
      const first = [7, 19];
      const { tokens, graphed } = await a.greedy(first, 12);
      expect(graphed).toBe(false); // the CPU
      const expected = await stepLoop(b, first, 12);
      expect([Array.from(tokens.subarray(0, 12)), Array.from(tokens.subarray(12, 24))]).toEqual(expected);
      expect(a.position).toBe(5 + 12);
      // Both sessions are in the same state afterwards.
      const last = expected.map((row) => row[11]);
      const la = (await a.step(Int32Array.from(last))).logits.toTypedArray();
      const lb = (await b.step(Int32Array.from(last))).logits.toTypedArray();
      expect(Array.from(la as Float32Array)).toEqual(Array.from(lb as Float32Array));
      model.dispose();
    });
  }

  it('from a fresh session, and checks its arguments and the context', async () => {
    const model = await LanguageModel.create({ kind: 'repeat', vocabSize: V, dModel: 16, nLayers: 1, nHeads: 2, context: n });
    const decoder = new Decoder(model);
    const fresh = new Decoder(model);
    expect(Array.from((await decoder.greedy(3, 4)).tokens)).toEqual((await stepLoop(fresh, [3], 4))[0]);
    await expect(decoder.greedy(3, 0)).rejects.toThrow(/count must be a positive integer/);
    await expect(decoder.greedy([1, 2], 2)).rejects.toEqual(code('SHAPE_MISMATCH'));
    await expect(decoder.greedy(V + 3, 2)).rejects.toThrow();
    await expect(decoder.greedy(3, n)).rejects.toEqual(code('CONTEXT_FULL'));
    expect(decoder.position).toBe(4);
    expect((await decoder.greedy(3, n - 4)).tokens.length).toBe(n - 4);
    model.dispose();
  });
});
