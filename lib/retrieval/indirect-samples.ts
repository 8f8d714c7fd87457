/**
 * Training samples of the indirect retrieval model (paper §6.2, Algorithm 1). That model reads a sequence of c
 * frozen embeddings — position 0 the query, positions 1 … c−1 candidate targets — and predicts which position
 * holds the query's match. Algorithm 1 fills the candidate positions with c − 1 targets drawn without
 * replacement from all targets but the match, then overwrites one random position m ∈ [1, c−1] with the match:
 * each sample holds the query, its match once, and c − 2 distinct non-matching targets; its label is m.
 */
import { mulberry32 } from '../data/random.js';
import { check } from '../errors.js';
import type { Embeddings } from './top-one.js';

export interface IndirectSample {
  /** [c, d] row-major: the query's embedding, then the c − 1 candidates'. */
  inputs: Float32Array;
  /** The position (1 … c−1) of the matching target: the one-hot label. */
  label: number;
  /** Which pair the sample is for. */
  pair: number;
  /** Target index at each position 1 … c−1 (`candidates[label − 1] === pair`). */
  candidates: number[];
}

export interface IndirectSampleOptions {
  /** c: embeddings per sample, the query included (paper: up to 1024). */
  context: number;
  seed?: number;
  /** Pairs to pass over first (a resumed run's position): their draws are made but no sample is built. */
  start?: number;
}

/**
 * One sample per query/target pair, in pair order (Algorithm 1's loop): query embeddings x[i] match target
 * embeddings y[i]. Needs at least c − 1 pairs so that c − 1 distinct other targets exist.
 */
export function* indirectRetrievalSamples(queries: Embeddings, targets: Embeddings, options: IndirectSampleOptions): Generator<IndirectSample> {
  const c = options.context;
  const N = queries.count;
  const d = queries.dim;
  check(targets.count === N && targets.dim === d, 'queries and targets must be paired, with one dimension');
  check(Number.isInteger(c) && c >= 2, `the context c must be an integer ≥ 2, got ${c}`);
  check(N >= c, `Algorithm 1 with c = ${c} draws ${c - 1} targets other than the match: it needs at least ${c} pairs, got ${N}`);
  const start = options.start ?? 0;
  check(Number.isInteger(start) && start >= 0, `start must be a non-negative integer, got ${start}`);
  const rng = mulberry32(options.seed ?? 0);
  const pool = Array.from({ length: N }, (_, i) => i);
  for (let n = 0; n < N; n++) {
    // multinomial(weights with weights[n] = 0, c − 1) without replacement: a partial Fisher–Yates over the pool
    // with n swapped out of reach at the end.
    const last = N - 1;
    const at = pool.indexOf(n);
    [pool[at], pool[last]] = [pool[last], pool[at]];
    for (let k = 0; k < c - 1; k++) {
      const j = k + Math.floor(rng() * (last - k));
      [pool[k], pool[j]] = [pool[j], pool[k]];
    }
    const candidates = pool.slice(0, c - 1);
    const label = 1 + Math.floor(rng() * (c - 1)); // randint(1, c): positions 1 … c−1
    candidates[label - 1] = n;
    if (n < start) continue;
    const inputs = new Float32Array(c * d);
    inputs.set(queries.vectors.subarray(n * d, (n + 1) * d), 0);
    candidates.forEach((t, k) => inputs.set(targets.vectors.subarray(t * d, (t + 1) * d), (k + 1) * d));
    yield { inputs, label, pair: n, candidates };
  }
}

/** Stacks samples into one model input: inputs [b, c, d] row-major and the label position of each. */
export function stackIndirectSamples(samples: readonly IndirectSample[], dim: number): { inputs: Float32Array; labels: Int32Array; batch: number; context: number } {
  check(samples.length > 0, 'no samples to stack');
  const context = samples[0].inputs.length / dim;
  check(Number.isInteger(context) && samples.every((s) => s.inputs.length === context * dim), 'samples must share one context and dimension');
  const inputs = new Float32Array(samples.length * context * dim);
  samples.forEach((s, i) => inputs.set(s.inputs, i * context * dim));
  return { inputs, labels: Int32Array.from(samples, (s) => s.label), batch: samples.length, context };
}
