// Decoding the generalized linear mixer (kind 'linear') with its cache equals the parallel forward (SPEC §6.2,
// ≤ 1e-4 relative in fp32) for every pattern and both coefficient kinds: token by token, chunked prefill then
// steps, after reset(), and clone() continuing identically. The cache holds exactly the past outputs later rows
// read (lattices: O(log n) / O(√n) of them) and the inputs A's lags read, as cacheBytes shows.
import { describe, expect, it } from 'vitest';

import { Decoder } from '../../lib/decode/decoder.js';
import { LINEAR_PATTERNS, type LinearPattern } from '../../lib/model-config.js';
import { LanguageModel } from '../../lib/model.js';
import { native } from '../../lib/native.js';
import { randomTokens } from '../helpers.js';
import { decodeInPieces, expectClose, expectCloneContinuesLikeOriginal, fullLogits } from './parity.js';

const V = 40;
const D = 24;
const L = 2;

function linearModel(pattern: LinearPattern, coefficients: 'static' | 'gated', context: number, seed = 2): Promise<LanguageModel> {
  return LanguageModel.create({ kind: 'linear', vocabSize: V, dModel: D, nLayers: L, nHeads: 4, context, order: 3, window: 5, seed, pattern, coefficients });
}

describe('linear mixer decoding', () => {
  for (const pattern of LINEAR_PATTERNS) {
    it(`${pattern}: token by token and chunked prefill + steps equal the full forward (static and gated); reset`, async () => {
      for (const coefficients of ['static', 'gated'] as const) {
        const n = 24;
        const model = await linearModel(pattern, coefficients, n);
        const batch = 2;
        const tokens = randomTokens(batch * n, V, 7);
        const full = await fullLogits(model, tokens, batch);
        const decoder = new Decoder(model, { batch });
        expect(decoder.mode).toBe('cached');
        const what = `${pattern} ${coefficients}`;
        expectClose(await decodeInPieces(decoder, tokens, n, Array(n).fill(1)), full, `${what} token by token`);
        decoder.reset();
        expect(decoder.cacheBytes).toBe(0);
        expectClose(await decodeInPieces(decoder, tokens, n, [7, 1, 1, 1, 5, 1, 8]), full, `${what} prefill 7, steps, prefill 5, step, prefill 8`);
        decoder.reset();
        expectClose(await decodeInPieces(decoder, tokens, n, [n]), full, `${what} one prefill`);
        decoder.dispose();
        model.dispose();
      }
    });
  }

  it('equals the forward over a longer context: training solves in chunks of 64, attention mixes by one matmul', async () => {
    const n = 150;
    for (const pattern of ['square-lattice', 'pow2', 'kth-order', 'dense', 'attention'] as const) {
      const model = await linearModel(pattern, 'gated', n, 5);
      const tokens = randomTokens(n, V, 11);
      const full = await fullLogits(model, tokens);
      const decoder = new Decoder(model);
      expectClose(await decodeInPieces(decoder, tokens, n, [100, ...Array(20).fill(1), 30]), full, `${pattern} n=150`);
      model.dispose();
    }
  });

  it('clone() continues exactly as the original, and clone({ copies }) repeats each sequence', async () => {
    for (const pattern of ['pow2-lattice', 'local', 'attention'] as const) {
      const n = 20;
      const model = await linearModel(pattern, 'gated', n, 4);
      const tokens = randomTokens(n, V, 9);
      const full = await expectCloneContinuesLikeOriginal(model, tokens, pattern);

      const three = new Decoder(model);
      await three.prefill(tokens.subarray(0, 9));
      const tripled = await three.clone({ copies: 3 });
      expect(tripled.cacheBytes).toBe(3 * three.cacheBytes);
      const rows = (await tripled.step(Int32Array.from([tokens[9], tokens[9], tokens[9]]))).logits.toTypedArray() as Float32Array;
      for (let c = 0; c < 3; c++) expectClose(rows.subarray(c * V, (c + 1) * V), full.subarray(9 * V, 10 * V), `${pattern} copy ${c}`);
      for (const d of [three, tripled]) d.dispose();
      model.dispose();
    }
  });

  it('holds exactly what the pattern reads next: cacheBytes follow the retained sets at every position', async () => {
    const n = 64;
    const rowBytes = D * 4; // one position of every head, one sequence, float32
    for (const pattern of LINEAR_PATTERNS) {
      const model = await linearModel(pattern, 'gated', n);
      const decoder = new Decoder(model);
      const spec = { pattern, context: n, order: 3, window: 5 };
      const lagsA = native().linearPatternReads!(spec, 0).lagsA;
      const tokens = randomTokens(n, V, 3);
      const sizes: number[] = [];
      for (let t = 0; t < n; t++) {
        (await decoder.step(tokens[t])).logits.dispose();
        const outputs = native().linearPatternReads!(spec, t).retained.length;
        const inputs = Math.min(t + 1, lagsA - 1);
        expect(decoder.cacheBytes, `${pattern} after position ${t}`).toBe(L * rowBytes * (outputs + inputs));
        sizes.push(outputs + inputs);
      }
      const peak = Math.max(...sizes.slice(0, n - 1));
      const expectedPeak: Record<LinearPattern, number> = {
        attention: n - 1, // every past input (the masked mixer's cache)
        local: 4,
        'first-order': 1,
        'kth-order': 3,
        dense: n - 1,
        pow2: 32,
        'pow2-lattice': 6, // ≈ log₂ n
        square: 50,
        'square-lattice': 7, // ≈ 0.9·√n here (the notes: 103 ≈ 0.73·√n at n = 20000)
      };
      expect(peak, pattern).toBe(expectedPeak[pattern]);
      model.dispose();
    }
  });
});
