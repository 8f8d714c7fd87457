import { describe, expect, it } from 'vitest';

import { indirectRetrievalSamples, stackIndirectSamples } from '../../lib/retrieval/indirect-samples.js';

describe('Algorithm 1: indirect retrieval samples', () => {
  it('holds the query, its match once at the label position and c − 2 distinct other targets', () => {
    const N = 40;
    const d = 3;
    const c = 16;
    // Embedding rows that name themselves: query i = [i, 0, 0], target j = [j, 1, 1].
    const queries = { vectors: Float32Array.from({ length: N * d }, (_, k) => (k % d === 0 ? Math.floor(k / d) : 0)), count: N, dim: d };
    const targets = { vectors: Float32Array.from({ length: N * d }, (_, k) => (k % d === 0 ? Math.floor(k / d) : 1)), count: N, dim: d };
    const labels = new Set<number>();
    let count = 0;
    for (const s of indirectRetrievalSamples(queries, targets, { context: c, seed: 4 })) {
      expect(s.pair).toBe(count++);
      expect(s.inputs).toHaveLength(c * d);
      expect(s.candidates).toHaveLength(c - 1);
      expect(s.inputs[0]).toBe(s.pair);
      expect(s.inputs[1]).toBe(0); // position 0 is a query embedding
      expect(s.label).toBeGreaterThanOrEqual(1);
      expect(s.label).toBeLessThanOrEqual(c - 1);
      expect(s.candidates[s.label - 1]).toBe(s.pair);
      expect(s.candidates.filter((t) => t === s.pair)).toHaveLength(1);
      expect(new Set(s.candidates).size).toBe(c - 1); // c − 2 distinct non-matching targets and the match
      for (let k = 1; k < c; k++) {
        expect(s.inputs[k * d]).toBe(s.candidates[k - 1]);
        expect(s.inputs[k * d + 1]).toBe(1); // positions 1 … c−1 are target embeddings
      }
      labels.add(s.label);
    }
    expect(count).toBe(N); // one sample per pair
    expect(labels.size).toBeGreaterThan(10); // the match moves around
  });

  it('refuses a context larger than the pairs allow', () => {
    const e = { vectors: new Float32Array(4 * 2), count: 4, dim: 2 };
    expect(() => indirectRetrievalSamples(e, e, { context: 5 }).next()).toThrow(/at least 5 pairs/);
    expect([...indirectRetrievalSamples(e, e, { context: 4 })]).toHaveLength(4);
  });

  it('stacks samples into [b, c, d] inputs with their labels', () => {
    const e = { vectors: Float32Array.from({ length: 6 * 2 }, (_, k) => k), count: 6, dim: 2 };
    const samples = [...indirectRetrievalSamples(e, e, { context: 3, seed: 1 })];
    const stacked = stackIndirectSamples(samples, 2);
    expect(stacked).toMatchObject({ batch: 6, context: 3 });
    expect(Array.from(stacked.labels)).toEqual(samples.map((s) => s.label));
    expect(Array.from(stacked.inputs.subarray(6, 12))).toEqual(Array.from(samples[1].inputs));
  });
});
