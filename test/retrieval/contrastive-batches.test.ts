import { describe, expect, it } from 'vitest';

import { contrastiveBatches } from '../../lib/retrieval/contrastive-batches.js';
import { leftPad } from '../../lib/retrieval/embed.js';

describe('InfoNCE batches', () => {
  it('left-pads and cuts sequences to one length', () => {
    expect(Array.from(leftPad([[1, 2], [3, 4, 5, 6]], 3, 0))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('assembles InfoNCE samples: query, its match, then distinct other passages', () => {
    const pairs = Array.from({ length: 40 }, (_, i) => ({ query: [1000 + i], passage: [i, i] }));
    const it = contrastiveBatches(pairs, { samples: 3, group: 8, length: 2, padId: 999, seed: 1 });
    const seen = new Set<number>();
    for (let b = 0; b < 20; b++) {
      const { tokens, batch } = it.next().value!;
      expect(batch).toBe(24);
      for (let s = 0; s < 3; s++) {
        const row = (r: number) => [tokens[(s * 8 + r) * 2], tokens[(s * 8 + r) * 2 + 1]];
        const q = row(0)[1] - 1000;
        seen.add(q);
        expect(row(0)[0]).toBe(999);
        expect(row(1)).toEqual([q, q]);
        const negatives = [2, 3, 4, 5, 6, 7].map((r) => row(r)[0]);
        expect(new Set(negatives).size).toBe(6);
        expect(negatives).not.toContain(q);
      }
    }
    expect(seen.size).toBe(40); // every query is visited each epoch
  });
});
