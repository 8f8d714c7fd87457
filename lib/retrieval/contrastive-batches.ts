/**
 * InfoNCE training batches (paper §6.3): each sample is `group` left-padded sequences in the batch dimension —
 * a query, its matching passage, then group − 2 other passages drawn at random (no hard negatives). Queries are
 * visited in a seeded order, reshuffled every epoch.
 */
import { mulberry32 } from '../data/random.js';
import { check } from '../errors.js';
import type { TokenBatch } from '../model.js';
import { leftPad } from './embed.js';

export interface TokenizedPair {
  query: ArrayLike<number>;
  passage: ArrayLike<number>;
}

export interface ContrastiveBatchOptions {
  /** Samples per batch (the batch holds samples·group sequences). */
  samples: number;
  /** Sequences per sample (default 32: query, match, 30 negatives). */
  group?: number;
  /** Every sequence is cut and left-padded to this many tokens. */
  length: number;
  padId: number;
  seed?: number;
  /** Batches to pass over first (a resumed run's position): their draws are made, so what follows is the same. */
  start?: number;
}

/** Endless InfoNCE batches over `pairs`; needs at least group − 1 pairs so negatives are distinct passages. */
export function* contrastiveBatches(pairs: readonly TokenizedPair[], options: ContrastiveBatchOptions): Generator<TokenBatch> {
  const group = options.group ?? 32;
  check(Number.isInteger(options.samples) && options.samples >= 1, `samples must be a positive integer, got ${options.samples}`);
  check(Number.isInteger(group) && group >= 2, `group must be an integer ≥ 2, got ${group}`);
  check(pairs.length >= group - 1, `InfoNCE with ${group} sequences per sample needs at least ${group - 1} pairs, got ${pairs.length}`);
  const start = options.start ?? 0;
  check(Number.isInteger(start) && start >= 0, `start must be a non-negative integer, got ${start}`);
  const rng = mulberry32(options.seed ?? 0);
  const order = pairs.map((_, i) => i);
  let next = order.length;
  for (let index = 0; ; index++) {
    const rows: ArrayLike<number>[] = [];
    for (let s = 0; s < options.samples; s++) {
      if (next === order.length) {
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(rng() * (i + 1));
          [order[i], order[j]] = [order[j], order[i]];
        }
        next = 0;
      }
      const q = order[next++];
      rows.push(pairs[q].query, pairs[q].passage);
      // group − 2 distinct passages other than the match, by rejection (group ≪ pairs in practice).
      const taken = new Set([q]);
      while (taken.size < group - 1) {
        const j = Math.floor(rng() * pairs.length);
        if (taken.has(j)) continue;
        taken.add(j);
        rows.push(pairs[j].passage);
      }
    }
    if (index >= start) yield { tokens: leftPad(rows, options.length, options.padId), batch: rows.length };
  }
}
