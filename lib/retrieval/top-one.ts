/**
 * Retrieval evaluation as in the paper's Table 1: top-1 accuracy of picking a query's matching passage among
 * candidates. A retrieval of size n holds, as the paper counts it, one query, its match and n − 2 non-matching
 * passages: n − 1 candidates, so n = 32 is exactly one InfoNCE training sample.
 *
 * Instead of drawing random candidate sets, the accuracy is the exact expectation over all of them: with N
 * passages, if m other passages score at least as high as the match, a draw of n − 2 distractors (without
 * replacement) misses all m with probability C(N−1−m, n−2) / C(N−1, n−2). No sampling noise, and the same number on
 * every run. A tie counts as a miss.
 */
import { check } from '../errors.js';

/** `count` vectors of `dim` floats, row after row (see `embed`). */
export interface Embeddings {
  vectors: Float32Array;
  count: number;
  dim: number;
}

/** The paper's sizes: n = 32, 64, …, 8192. */
export const TABLE_SIZES = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192] as const;

export interface TopOneResult {
  n: number;
  /** Fraction in [0, 1]; undefined when there are fewer than n − 1 passages. */
  accuracy: number | undefined;
}

/**
 * Top-1 accuracy for each size in `sizes`, given query i's similarities to every passage (`row(i)[j]`, the match
 * at j = i) for `count` queries.
 */
export function topOneAccuracy(row: (query: number) => ArrayLike<number>, count: number, sizes: readonly number[]): TopOneResult[] {
  check(count >= 1, 'top-1 accuracy needs at least one query/passage pair');
  for (const n of sizes) check(Number.isInteger(n) && n >= 2, `a retrieval size n must be an integer ≥ 2, got ${n}`);
  // rivals[m] = how many queries have m other passages scoring at least as high as their match.
  const rivals = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const r = row(i);
    check(r.length === count, `similarity row ${i} has ${r.length} entries, expected ${count}`);
    const target = r[i];
    let m = 0;
    for (let j = 0; j < count; j++) if (j !== i && !(r[j] < target)) m++;
    rivals[m]++;
  }
  const others = count - 1;
  return sizes.map((n) => {
    const k = n - 2;
    if (k > others) return { n, accuracy: undefined };
    // f(m) = C(others − m, k) / C(others, k), by f(m+1) = f(m)·(others − m − k)/(others − m).
    let f = 1;
    let hits = 0;
    for (let m = 0; m < count; m++) {
      if (f === 0) break;
      hits += rivals[m] * f;
      f = others - m - k <= 0 ? 0 : (f * (others - m - k)) / (others - m);
    }
    return { n, accuracy: hits / count };
  });
}

/** {@link topOneAccuracy} for query and passage embeddings (pair i = query i, passage i) by cosine similarity. */
export function embeddingTopOne(queries: Embeddings, passages: Embeddings, sizes: readonly number[]): TopOneResult[] {
  check(queries.count === passages.count && queries.dim === passages.dim, 'queries and passages must be paired, with one dimension');
  const q = normalizeRows(queries);
  const p = normalizeRows(passages);
  const d = q.dim;
  const out = new Float32Array(p.count);
  return topOneAccuracy(
    (i) => {
      const qi = q.vectors.subarray(i * d, (i + 1) * d);
      for (let j = 0; j < p.count; j++) {
        let dot = 0;
        const base = j * d;
        for (let k = 0; k < d; k++) dot += qi[k] * p.vectors[base + k];
        out[j] = dot;
      }
      return out;
    },
    q.count,
    sizes,
  );
}

/** Table 1 style: a header `Model  n=32  64 …` and one row of percentages per model (`—` where n is too large). */
export function formatTopOneTable(rows: ReadonlyArray<{ label: string; results: readonly TopOneResult[] }>): string {
  check(rows.length > 0, 'nothing to print');
  const sizes = rows[0].results.map((r) => r.n);
  const width = Math.max(5, ...rows.map((r) => r.label.length));
  const header = ['Model'.padEnd(width), ...sizes.map((n, i) => (i === 0 ? `n=${n}` : String(n)).padStart(7))].join(' ');
  const lines = rows.map((r) =>
    [r.label.padEnd(width), ...r.results.map((x) => (x.accuracy === undefined ? '—' : (100 * x.accuracy).toFixed(1)).padStart(7))].join(' '),
  );
  return [header, ...lines].join('\n');
}

/** The vectors scaled to unit length (a zero vector stays zero), so dot products are cosine similarities. */
export function normalizeRows(e: Embeddings): Embeddings {
  const out = new Float32Array(e.vectors.length);
  for (let r = 0; r < e.count; r++) {
    let sq = 0;
    for (let k = 0; k < e.dim; k++) sq += e.vectors[r * e.dim + k] ** 2;
    const scale = sq > 0 ? 1 / Math.sqrt(sq) : 0;
    for (let k = 0; k < e.dim; k++) out[r * e.dim + k] = e.vectors[r * e.dim + k] * scale;
  }
  return { vectors: out, count: e.count, dim: e.dim };
}
