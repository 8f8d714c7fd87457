// The synthetic generators: deterministic per seed, and the answer mask marks exactly the tokens a task asks for.
import { describe, expect, it } from 'vitest';

import { SYNTHETIC_PAD, SYNTHETIC_SEPARATOR, syntheticBatch, syntheticTask } from '../../lib/synthetic/synthetic-tasks.js';

const rows = (b: { tokens: Int32Array; answerMask: Uint8Array; batch: number; context: number }) =>
  Array.from({ length: b.batch }, (_, i) => ({
    tokens: Array.from(b.tokens.subarray(i * b.context, (i + 1) * b.context)),
    mask: Array.from(b.answerMask.subarray(i * b.context, (i + 1) * b.context)),
  }));

describe('synthetic tasks', () => {
  it('are deterministic per seed and differ between seeds', () => {
    for (const name of ['copy', 'recall', 'multihop']) {
      const task = syntheticTask(name, { context: 32, vocabSize: 40 });
      const a = syntheticBatch(task, 4, 7);
      const b = syntheticBatch(task, 4, 7);
      expect(a.tokens).toEqual(b.tokens);
      expect(a.answerMask).toEqual(b.answerMask);
      expect(syntheticBatch(task, 4, 8).tokens).not.toEqual(a.tokens);
      expect(a.tokens.length).toBe(4 * 32);
      expect(Math.max(...a.tokens)).toBeLessThan(40);
      // Every row has exactly the task's answer count, none at position 0 and none on a pad.
      for (const r of rows(a)) {
        expect(r.mask.reduce((s, m) => s + m, 0)).toBe(task.answersPerSequence);
        expect(r.mask[0]).toBe(0);
        r.mask.forEach((m, j) => m && expect(r.tokens[j]).not.toBe(SYNTHETIC_PAD));
      }
    }
  });

  it('copy: x SEP x with the mask on the second copy', () => {
    const task = syntheticTask('copy', { context: 11, vocabSize: 20 });
    for (const { tokens, mask } of rows(syntheticBatch(task, 3, 1))) {
      expect(tokens.slice(0, 5)).toEqual(tokens.slice(6, 11));
      expect(tokens[5]).toBe(SYNTHETIC_SEPARATOR);
      expect(mask).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
      expect(tokens.slice(0, 5).every((t) => t >= 2)).toBe(true);
    }
  });

  it('recall: each masked answer is the value bound to the key just before it', () => {
    const task = syntheticTask('recall', { context: 22, vocabSize: 30 });
    // 6 pairs (12 tokens), SEP, 3 queries (6 tokens): 19 of 22 tokens.
    expect(task.answersPerSequence).toBe(3);
    for (const { tokens, mask } of rows(syntheticBatch(task, 5, 2))) {
      const bound = new Map<number, number>();
      for (let i = 0; i < 6; i++) bound.set(tokens[2 * i], tokens[2 * i + 1]);
      expect(bound.size).toBe(6); // distinct keys
      expect(tokens[12]).toBe(SYNTHETIC_SEPARATOR);
      const queried = new Set<number>();
      mask.forEach((m, j) => {
        if (!m) return;
        expect(j).toBeGreaterThan(13);
        expect(tokens[j]).toBe(bound.get(tokens[j - 1]));
        queried.add(tokens[j - 1]);
      });
      expect(queried.size).toBe(3); // half the keys, each asked once
      expect(tokens.slice(19)).toEqual([SYNTHETIC_PAD, SYNTHETIC_PAD, SYNTHETIC_PAD]);
    }
  });

  it('multihop: each answer is `hops` lookups away from its query, through links shown before SEP', () => {
    for (const hops of [1, 2, 3]) {
      const task = syntheticTask('multihop', { context: 40, vocabSize: 60, hops });
      for (const { tokens, mask } of rows(syntheticBatch(task, 4, hops))) {
        const sep = tokens.indexOf(SYNTHETIC_SEPARATOR);
        const chains = sep / (2 * hops);
        expect(Number.isInteger(chains)).toBe(true);
        expect(task.answersPerSequence).toBe(Math.ceil(chains / 2));
        expect(2 * hops * (chains + 1) + 1 + 2 * Math.ceil((chains + 1) / 2)).toBeGreaterThan(40); // as many as fit
        const next = new Map<number, number>();
        for (let i = 0; i < sep; i += 2) next.set(tokens[i], tokens[i + 1]);
        const queries = new Set<number>();
        mask.forEach((m, j) => {
          if (!m) return;
          let at = tokens[j - 1];
          for (let h = 0; h < hops; h++) at = next.get(at)!;
          expect(tokens[j]).toBe(at);
          expect(next.has(tokens[j])).toBe(false); // the chain's end
          queries.add(tokens[j - 1]);
        });
        expect(queries.size).toBe(task.answersPerSequence); // distinct chains
      }
    }
  });

  it('rejects unknown tasks and sizes too small to hold one answer', () => {
    expect(() => syntheticTask('sort')).toThrow(/unknown synthetic task 'sort'.*copy, recall, multihop/);
    expect(() => syntheticTask('copy', { context: 2 })).toThrow(/context/);
    expect(() => syntheticTask('recall', { context: 64, vocabSize: 10 })).toThrow(/vocabSize/);
  });
});
