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
import { decodeInPieces, expectClose, expectCloneContinuesLikeOriginal, fullLogits, stepLoop } from './parity.js';

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

  it('greedy steps at a held position (the CUDA graph step, run eagerly here) equal a step loop; the cache moves to its fixed form and back', async () => {
    const n = 40;
    const batch = 2;
    // Attention and dense read their whole ring at every held step, so without a graph greedy keeps host-side
    // steps unless told otherwise (below, so that the graph's step is checked for them too).
    const costsMore = new Set<LinearPattern>(['attention', 'dense']);
    for (const pattern of costsMore) {
      const model = await LanguageModel.create({ kind: 'linear', vocabSize: V, dModel: D, nLayers: L, nHeads: 4, context: n, seed: 6, pattern });
      const d = new Decoder(model, { batch });
      await d.prefill(randomTokens(batch * 7, V, 13));
      await d.greedy([3, 11], 5);
      expect(d.cacheBytes, `${pattern}: greedy on the host`).toBe(L * 12 * batch * D * 4); // every position fed: 7 + 5
      d.dispose();
      model.dispose();
    }
    process.env.MASKMIX_HELD_POSITION_STEPS = 'always';
    try {
      await everyPattern();
    } finally {
      delete process.env.MASKMIX_HELD_POSITION_STEPS;
    }
  });

  // Every pattern and coefficient kind, greedy at a held position against a step loop (float64).
  async function everyPattern(): Promise<void> {
    const n = 40;
    const batch = 2;
    // Rows of the fixed form at n = 40, order 3, window 5: the rings of A's lags − 1 and B's largest offset; a
    // lattice's one row per B slot (offsets 1, 2, 4, … 32; 1, 2, 5, … 37).
    const deviceRows: Record<LinearPattern, number> = {
      attention: 39,
      local: 4,
      'first-order': 1,
      'kth-order': 3,
      dense: 39,
      pow2: 32,
      square: 37,
      'pow2-lattice': 6,
      'square-lattice': 7,
    };
    for (const pattern of LINEAR_PATTERNS) {
      for (const coefficients of ['static', 'gated'] as const) {
        const what = `${pattern} ${coefficients}`;
        const model = await LanguageModel.create({ kind: 'linear', vocabSize: V, dModel: D, nLayers: L, nHeads: 4, context: n, order: 3, window: 5, seed: 6, pattern, coefficients, dtype: 'float64' });
        const held = new Decoder(model, { batch });
        const loop = new Decoder(model, { batch });
        const prompt = randomTokens(batch * 7, V, 13);
        await held.prefill(prompt);
        await loop.prefill(prompt);
        const loopTokens = (first: number[], count: number) => stepLoop(loop, first, count);
        const greedyTokens = async (first: number[], count: number) => {
          const { tokens } = await held.greedy(first, count);
          return [Array.from(tokens.subarray(0, count)), Array.from(tokens.subarray(count, 2 * count))];
        };
        expect(await greedyTokens([3, 11], 12), what).toEqual(await loopTokens([3, 11], 12));
        expect(held.cacheBytes, `${what} fixed form`).toBe(L * deviceRows[pattern] * batch * D * 8);
        // Clones taken from the fixed form (one, and each sequence twice) continue like the original.
        const copy = await held.clone();
        const twice = await held.clone({ copies: 2 });
        // Host-side steps after held-position steps: the cache moves back to exactly the retained rows (on the CPU
        // the fixed form is freed).
        const expectStepsAgree = async (tokens: [number, number], where: string) => {
          const expected = (await loop.step(Int32Array.from(tokens))).logits.toTypedArray() as Float64Array;
          const got = (await held.step(Int32Array.from(tokens))).logits.toTypedArray() as Float64Array;
          for (let i = 0; i < expected.length; i++) expect(Math.abs(got[i] - expected[i]), `${what} ${where}, logit ${i}`).toBeLessThan(1e-9);
          return expected;
        };
        const expected = await expectStepsAgree([5, 9], 'step after greedy');
        const c = (await copy.step(Int32Array.from([5, 9]))).logits.toTypedArray() as Float64Array;
        const t = (await twice.step(Int32Array.from([5, 5, 9, 9]))).logits.toTypedArray() as Float64Array;
        for (let i = 0; i < expected.length; i++) {
          const row = Math.floor(i / V);
          expect(Math.abs(c[i] - expected[i]), `${what} clone's step, logit ${i}`).toBeLessThan(1e-9);
          for (const r of [2 * row, 2 * row + 1]) expect(Math.abs(t[r * V + (i % V)] - expected[i]), `${what} copies' step, logit ${i}`).toBeLessThan(1e-9);
        }
        expect(held.cacheBytes, `${what} back host-side`).toBe(loop.cacheBytes);
        // Into the fixed form again up to the last position (the rings wrap on the way: local, the k-orders, pow2,
        // square), then a host-side step there; the twice-cloned session's greedy (a fixed form of its own) agrees.
        const rest = n - 1 - held.position;
        const again = await greedyTokens([1, 2], rest);
        expect(again, `${what} again`).toEqual(await loopTokens([1, 2], rest));
        const { tokens: twiceTokens } = await twice.greedy([1, 1, 2, 2], rest);
        for (let r = 0; r < 4; r++) expect(Array.from(twiceTokens.subarray(r * rest, (r + 1) * rest)), `${what} copies' greedy, row ${r}`).toEqual(again[r >> 1]);
        await expectStepsAgree([4, 6], 'last position after wrapped held steps');
        for (const d of [held, loop, copy, twice]) d.dispose();
        model.dispose();
      }
    }
  }

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
