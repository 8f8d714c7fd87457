// Recurrent decoding of every repeat structure equals the parallel forward (SPEC §6.2, ≤ 1e-4 relative in fp32):
// token by token over whole sequences, chunked prefill then single steps, clone() continuing identically, reset().
// The state stays the same size whatever the position (Toeplitz excepted: it keeps every past input).
import { describe, expect, it } from 'vitest';

import { Decoder } from '../../lib/decode/decoder.js';
import { REPEAT_STRUCTURES, type RepeatStructure } from '../../lib/model-config.js';
import { LanguageModel } from '../../lib/model.js';
import { randomizeRepeatWeights, randomTokens } from '../helpers.js';
import { decodeInPieces, expectClose, expectCloneContinuesLikeOriginal, fullLogits } from './parity.js';

const V = 40;

async function repeatModel(structure: RepeatStructure, context: number, seed = 2): Promise<LanguageModel> {
  const model = await LanguageModel.create({ kind: 'repeat', vocabSize: V, dModel: 24, nLayers: 2, nHeads: 4, context, kernelSize: 3, seed, structure });
  randomizeRepeatWeights(model, seed + 10);
  return model;
}

describe('repeat mixer decoding', () => {
  for (const structure of REPEAT_STRUCTURES) {
    it(`${structure}: token by token and chunked prefill + steps equal the full forward; clone and reset`, async () => {
      const n = 24;
      const model = await repeatModel(structure, n);
      const batch = 2;
      const tokens = randomTokens(batch * n, V, 7);
      const full = await fullLogits(model, tokens, batch);

      const decoder = new Decoder(model, { batch });
      expect(decoder.mode).toBe('cached');
      expectClose(await decodeInPieces(decoder, tokens, n, Array(n).fill(1)), full, `${structure} token by token`);

      decoder.reset();
      expect(decoder.position).toBe(0);
      expect(decoder.cacheBytes).toBe(0);
      expectClose(await decodeInPieces(decoder, tokens, n, [7, 1, 1, 1, 5, 1, 8]), full, `${structure} prefill 7, steps, prefill 5, step, prefill 8`);

      decoder.reset();
      expectClose(await decodeInPieces(decoder, tokens, n, [n]), full, `${structure} one prefill after reset()`);
      decoder.dispose();
      model.dispose();
    });
  }

  it('clone() continues exactly as the original, and the original is unaffected by the clone', async () => {
    for (const structure of ['mixed', 'toeplitz', 'kernel'] as const) {
      const n = 20;
      const model = await repeatModel(structure, n, 4);
      await expectCloneContinuesLikeOriginal(model, randomTokens(n, V, 9), structure);
      model.dispose();
    }
  });

  it('equals the forward past 128 positions, where training switches to the chunked parallel form', async () => {
    const n = 200;
    for (const structure of ['mixed', 'combined', 'toeplitz', 'kernel'] as const) {
      const model = await repeatModel(structure, n, 5);
      const tokens = randomTokens(n, V, 11);
      const full = await fullLogits(model, tokens);
      const decoder = new Decoder(model);
      // A 150-token prefill (chunked form with a carried state), steps, then the rest.
      const pieces = [150, ...Array(20).fill(1), 30];
      expectClose(await decodeInPieces(decoder, tokens, n, pieces), full, `${structure} n=200`);
      model.dispose();
    }
  });

  it('holds O(1) state: cache bytes do not grow with the position (Toeplitz keeps every input: O(n))', async () => {
    const n = 64;
    for (const structure of REPEAT_STRUCTURES) {
      const model = await repeatModel(structure, n);
      const decoder = new Decoder(model);
      await decoder.prefill(randomTokens(4, V, 1));
      const early = decoder.cacheBytes;
      await decoder.prefill(randomTokens(40, V, 2));
      const late = decoder.cacheBytes;
      if (structure === 'toeplitz') {
        expect(late).toBeGreaterThan(early);
      } else {
        // Layers × running sums × head width × 4 bytes: d·L (two sums per head for 'combined').
        expect(early).toBe(24 * 2 * 4 * (structure === 'combined' ? 2 : 1));
        expect(late).toBe(early);
      }
      model.dispose();
    }
  });

  it('refuses to pass the fixed context, saying why', async () => {
    const model = await repeatModel('mixed', 10);
    const decoder = new Decoder(model);
    await decoder.prefill(randomTokens(10, V, 1));
    await expect(decoder.step(3)).rejects.toMatchObject({
      code: 'CONTEXT_FULL',
      message: expect.stringMatching(/context of 10: a repeat mixer's weights and biases are indexed by absolute position/),
    });
    const fresh = new Decoder(model);
    await expect(fresh.prefill(randomTokens(11, V, 1))).rejects.toMatchObject({ code: 'CONTEXT_FULL' });
    model.dispose();
  });
});
