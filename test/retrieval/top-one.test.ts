import { describe, expect, it } from 'vitest';

import { mulberry32 } from '../../lib/data/random.js';
import { embeddingTopOne, formatTopOneTable, TABLE_SIZES, topOneAccuracy } from '../../lib/retrieval/top-one.js';

/** Every k-subset of `items`. */
function* subsets(items: number[], k: number, start = 0, chosen: number[] = []): Generator<number[]> {
  if (chosen.length === k) {
    yield chosen;
    return;
  }
  for (let i = start; i < items.length; i++) yield* subsets(items, k, i + 1, [...chosen, items[i]]);
}

/** Brute force: over every set of n − 2 distractors, is the match strictly the best of the n − 1 candidates? */
function bruteForce(sim: number[][], n: number): number | undefined {
  const N = sim.length;
  if (n - 2 > N - 1) return undefined;
  let hits = 0;
  let trials = 0;
  for (let i = 0; i < N; i++) {
    const others = [...Array(N).keys()].filter((j) => j !== i);
    for (const distractors of subsets(others, n - 2)) {
      trials++;
      if (distractors.every((j) => sim[i][j] < sim[i][i])) hits++;
    }
  }
  return hits / trials;
}

describe('top-1 accuracy among n candidates', () => {
  it('equals brute force over every distractor set on a planted similarity matrix (ties count as misses)', () => {
    const N = 9;
    const rng = mulberry32(7);
    // Planted: the match gets a boost that varies by query, so some queries win always, some sometimes, some never;
    // values on a coarse grid so ties occur.
    const sim = Array.from({ length: N }, (_, i) =>
      Array.from({ length: N }, (_, j) => Math.round((rng() + (i === j ? (i % 3) * 0.3 : 0)) * 8) / 8),
    );
    const sizes = [2, 3, 4, 5, 6, 9, 10, 11, 12];
    const fast = topOneAccuracy((i) => sim[i], N, sizes);
    for (const { n, accuracy } of fast) {
      const expected = bruteForce(sim, n);
      if (expected === undefined) expect(accuracy, `n=${n}`).toBeUndefined();
      else expect(accuracy, `n=${n}`).toBeCloseTo(expected, 12);
    }
    expect(fast.find((r) => r.n === 12)!.accuracy).toBeUndefined();
  });

  it('is 1 for perfectly separated pairs and falls with n for random embeddings', () => {
    const d = 8;
    const N = 300;
    const rng = mulberry32(3);
    const passages = Float32Array.from({ length: N * d }, () => rng() - 0.5);
    const same = embeddingTopOne({ vectors: passages, count: N, dim: d }, { vectors: passages, count: N, dim: d }, [32, 256]);
    expect(same.map((r) => r.accuracy)).toEqual([1, 1]);
    const noisy = Float32Array.from(passages, (x) => x + (rng() - 0.5) * 0.8);
    const r = embeddingTopOne({ vectors: noisy, count: N, dim: d }, { vectors: passages, count: N, dim: d }, [32, 64, 256, 512]);
    expect(r[0].accuracy!).toBeGreaterThan(r[1].accuracy!);
    expect(r[1].accuracy!).toBeGreaterThan(r[2].accuracy!);
    expect(r[3].accuracy).toBeUndefined();
  });

  it("prints rows like the paper's Table 1", () => {
    const results = TABLE_SIZES.map((n) => ({ n, accuracy: n <= 64 ? 0.982 : undefined }));
    const table = formatTopOneTable([{ label: 'Masked Mixer', results }]);
    const [header, row] = table.split('\n');
    expect(header).toMatch(/^Model\s+n=32\s+64\s+128 .* 8192$/);
    expect(row).toMatch(/^Masked Mixer\s+98\.2\s+98\.2\s+—/);
  });
});
