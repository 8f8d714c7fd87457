// What a causal model can and cannot get from the synthetic tasks: an oracle that reads only the tokens before each
// answer solves every task, and a guesser that never binds keys to values scores the floors the README quotes.
import { describe, expect, it } from 'vitest';

import { mulberry32 } from '../../lib/data/random.js';
import { SYNTHETIC_SEPARATOR, syntheticBatch, syntheticTask, type SyntheticTask } from '../../lib/synthetic/synthetic-tasks.js';

/** Calls `answer(prefix, j)` for every answer j of every row; prefix = the tokens a causal model sees (0 … j−1). */
function eachAnswer(task: SyntheticTask, sequences: number, seed: number, answer: (prefix: Int32Array, truth: number, row: number) => void) {
  const b = syntheticBatch(task, sequences, seed);
  const n = task.context;
  for (let r = 0; r < sequences; r++) {
    const row = b.tokens.subarray(r * n, (r + 1) * n);
    for (let j = 1; j < n; j++) if (b.answerMask[r * n + j]) answer(row.subarray(0, j), row[j], r);
  }
}

/** key → value of the `key value` pairs before SEP. */
function links(prefix: Int32Array): Map<number, number> {
  const next = new Map<number, number>();
  for (let i = 0; prefix[i] !== SYNTHETIC_SEPARATOR; i += 2) next.set(prefix[i], prefix[i + 1]);
  return next;
}

describe('synthetic tasks seen causally', () => {
  it('an oracle reading only the tokens before each answer scores 100 % on every task', () => {
    for (const [context, vocabSize] of [[32, 32], [64, 40], [128, 64]]) {
      for (const hops of [1, 2, 3]) {
        for (const name of ['copy', 'recall', 'multihop']) {
          const task = syntheticTask(name, { context, vocabSize, hops });
          let right = 0;
          let answers = 0;
          eachAnswer(task, 64, context + hops, (prefix, truth) => {
            answers++;
            let guess: number | undefined;
            if (name === 'copy') guess = prefix[prefix.length - 1 - prefix.indexOf(SYNTHETIC_SEPARATOR)];
            else {
              const next = links(prefix);
              guess = prefix[prefix.length - 1];
              for (let h = 0; h < (name === 'recall' ? 1 : hops); h++) guess = next.get(guess!);
            }
            if (guess === truth) right++;
          });
          expect(answers).toBe(64 * task.answersPerSequence);
          expect(right).toBe(answers);
        }
      }
    }
  });

  it('answering with an unasked pair’s value / an unreached chain end scores ≈ 16 % / ≈ 21 % at n = V = 32', () => {
    // The CLI's default size: recall 10 pairs, 5 asked; multihop 6 chains of 2 hops, 3 asked. The guesser knows which
    // pairs (chains) earlier answers used, but not which one the query asks for. Recall's values are drawn with
    // replacement, so a guess is also right when another pair has the same value: the floor is above the
    // Σ 1/(P−k) / Q = 12.9 % that distinct values would give.
    const rng = mulberry32(3);
    for (const [name, low, high] of [['recall', 0.15, 0.17], ['multihop', 0.195, 0.215]] as const) {
      const task = syntheticTask(name, { context: 32, vocabSize: 32 });
      let right = 0;
      let answers = 0;
      let lastRow = -1;
      let used = new Set<number>();
      eachAnswer(task, 4000, 11, (prefix, truth, row) => {
        if (row !== lastRow) [lastRow, used] = [row, new Set()];
        const next = links(prefix);
        const keys = [...next.keys()];
        // Recall: every pair is a candidate; multihop: the pairs whose value ends a chain (is no key).
        const candidates = keys.filter((k) => name === 'recall' || !next.has(next.get(k)!)).filter((k) => !used.has(k));
        const pick = candidates[Math.floor(rng() * candidates.length)];
        if (next.get(pick) === truth) right++;
        answers++;
        // The pair this answer used: the query's own (recall), the chain's last link (multihop).
        const query = prefix[prefix.length - 1];
        used.add(name === 'recall' ? query : next.get(query)!);
      });
      expect(right / answers).toBeGreaterThan(low);
      expect(right / answers).toBeLessThan(high);
    }
  });
});
