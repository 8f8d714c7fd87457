import { describe, expect, it } from 'vitest';

import { BatchIterator, batches, packSequences, splitDocuments, unigramEntropy } from '../../lib/data/corpus.js';
import { expectCode } from '../expect-code.js';

const docs = Array.from({ length: 100 }, (_, i) => `document ${i}`);

describe('splitDocuments', () => {
  it('splits by document into disjoint sets that together are the input', () => {
    const split = splitDocuments(docs, { valFraction: 0.1, seed: 1 });
    expect(split.val).toHaveLength(10);
    expect(split.train).toHaveLength(90);
    const train = new Set(split.train);
    expect(split.val.some((d) => train.has(d))).toBe(false);
    expect([...split.train, ...split.val].sort()).toEqual([...docs].sort());
    expect(split.train).toEqual(split.trainIndices.map((i) => docs[i]));
    expect(split.val).toEqual(split.valIndices.map((i) => docs[i]));
    expect(split.valIndices).toEqual([...split.valIndices].sort((a, b) => a - b)); // original order kept
  });

  it('is deterministic for a seed, and the seed matters', () => {
    const a = splitDocuments(docs, { valFraction: 0.2, seed: 42 });
    expect(splitDocuments(docs, { valFraction: 0.2, seed: 42 })).toEqual(a);
    expect(splitDocuments(docs, { valFraction: 0.2, seed: 43 }).valIndices).not.toEqual(a.valIndices);
    // A fixed seed gives a fixed split on every machine and version (mulberry32 is fully specified).
    expect(splitDocuments(['a', 'b', 'c', 'd', 'e'], { valFraction: 0.4, seed: 0 }).val).toEqual(['c', 'e']);
  });

  it('puts at least one document on each side when there are two or more', () => {
    expect(splitDocuments(['a', 'b'], { valFraction: 0.01, seed: 3 }).val).toHaveLength(1);
    expect(splitDocuments(['a', 'b'], { valFraction: 0.99, seed: 3 }).train).toHaveLength(1);
    expect(splitDocuments(['only'], { valFraction: 0.5, seed: 3 })).toMatchObject({ train: ['only'], val: [] });
  });

  it('rejects an empty list and fractions outside (0, 1)', () => {
    expectCode(() => splitDocuments([], { valFraction: 0.1, seed: 1 }), 'INVALID_ARGUMENT');
    for (const valFraction of [0, 1, -0.1, Number.NaN]) expectCode(() => splitDocuments(docs, { valFraction, seed: 1 }), 'INVALID_ARGUMENT');
    expectCode(() => splitDocuments(docs, { valFraction: 0.1, seed: Number.NaN }), 'INVALID_ARGUMENT');
  });
});

describe('packSequences', () => {
  const tokenDocs = [[5, 6, 7], [], [8, 9], [10, 11, 12, 13, 14]];

  it('concatenates documents with eos after each and pads the last row', () => {
    const packed = packSequences(tokenDocs, { context: 4, eosId: 0 });
    expect(packed.numSequences).toBe(4);
    expect(packed.context).toBe(4);
    expect(packed.realTokens).toBe(13);
    expect([...packed.data]).toEqual([5, 6, 7, 0, 8, 9, 0, 10, 11, 12, 13, 14, 0, 0, 0, 0]);
  });

  it('uses padId for the tail when given', () => {
    const packed = packSequences([[1, 2, 3]], { context: 3, eosId: 0, padId: 99 });
    expect([...packed.data]).toEqual([1, 2, 3, 0, 99, 99]);
    expect(packed.realTokens).toBe(4);
  });

  it('covers every token exactly once, in order, on a large random input', () => {
    let seed = 5;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
    const big = Array.from({ length: 200 }, () => Array.from({ length: Math.floor(rand() * 300) }, () => 1 + Math.floor(rand() * 999)));
    const packed = packSequences(big, { context: 64, eosId: 0 });
    const expected = big.filter((d) => d.length > 0).flatMap((d) => [...d, 0]);
    expect(packed.realTokens).toBe(expected.length);
    expect(packed.numSequences).toBe(Math.ceil(expected.length / 64));
    expect(packed.data.length).toBe(packed.numSequences * 64);
    expect([...packed.data.subarray(0, packed.realTokens)]).toEqual(expected);
    expect([...packed.data.subarray(packed.realTokens)].every((id) => id === 0)).toBe(true);
  });

  it('rejects bad options, no tokens and bad ids', () => {
    expectCode(() => packSequences([[1]], { context: 0, eosId: 0 }), 'INVALID_ARGUMENT');
    expectCode(() => packSequences([[1]], { context: 2.5, eosId: 0 }), 'INVALID_ARGUMENT');
    expectCode(() => packSequences([], { context: 4, eosId: 0 }), 'INVALID_ARGUMENT');
    expectCode(() => packSequences([[], []], { context: 4, eosId: 0 }), 'INVALID_ARGUMENT');
    expectCode(() => packSequences([[1, -2]], { context: 4, eosId: 0 }), 'TOKEN_OUT_OF_RANGE');
    expectCode(() => packSequences([[1, 2.5]], { context: 4, eosId: 0 }), 'TOKEN_OUT_OF_RANGE');
    expectCode(() => packSequences([[1, 300]], { context: 4, eosId: 0, vocabSize: 300 }), 'TOKEN_OUT_OF_RANGE');
    expectCode(() => packSequences([[1]], { context: 4, eosId: -1 }), 'TOKEN_OUT_OF_RANGE');
  });
});

describe('BatchIterator', () => {
  const packed = packSequences([Array.from({ length: 10 * 8 - 1 }, (_, i) => i + 1)], { context: 8, eosId: 0 });
  const rowIds = (batch: Int32Array) => Array.from({ length: batch.length / 8 }, (_, r) => Math.floor(batch[r * 8] / 8));

  it('yields full batches of batchSize * context ids, each epoch a permutation of the rows', () => {
    expect(packed.numSequences).toBe(10);
    const it = batches(packed, 5, { seed: 3 });
    const epoch0 = [...rowIds(it.nextBatch()), ...rowIds(it.nextBatch())];
    const epoch1 = [...rowIds(it.nextBatch()), ...rowIds(it.nextBatch())];
    expect([...epoch0].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...epoch1].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(epoch1).not.toEqual(epoch0);
    expect(it.position).toEqual({ epoch: 2, index: 0 });
  });

  it('copies rows intact', () => {
    const batch = new BatchIterator(packed, 3, { shuffle: false }).nextBatch();
    expect(batch).toHaveLength(24);
    expect([...batch]).toEqual([...packed.data.subarray(0, 24)]);
  });

  it('continues across epoch boundaries without short batches', () => {
    const it = new BatchIterator(packed, 4, { shuffle: false });
    const seen = Array.from({ length: 5 }, () => rowIds(it.nextBatch()));
    expect(seen).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, 0, 1],
      [2, 3, 4, 5],
      [6, 7, 8, 9],
    ]);
    expect(it.batchesPerEpoch).toBe(2.5);
  });

  it('resumes from a saved position with exactly the same continuation', () => {
    const original = new BatchIterator(packed, 3, { seed: 11 });
    for (let i = 0; i < 7; i++) original.nextBatch();
    const saved = JSON.parse(JSON.stringify(original.position));
    const expected = Array.from({ length: 12 }, () => [...original.nextBatch()]);

    const resumed = new BatchIterator(packed, 3, { seed: 11, start: saved });
    expect(Array.from({ length: 12 }, () => [...resumed.nextBatch()])).toEqual(expected);

    const seeked = new BatchIterator(packed, 3, { seed: 11 });
    seeked.nextBatch();
    seeked.seek(saved);
    expect(Array.from({ length: 12 }, () => [...seeked.nextBatch()])).toEqual(expected);
  });

  it('is an iterator that never ends', () => {
    let count = 0;
    for (const batch of batches(packed, 4, { seed: 1 })) {
      expect(batch).toHaveLength(32);
      if (++count === 30) break;
    }
    expect(count).toBe(30);
  });

  it('rejects bad sizes and positions', () => {
    expectCode(() => new BatchIterator(packed, 0), 'INVALID_ARGUMENT');
    expectCode(() => new BatchIterator({ data: new Int32Array(7), numSequences: 1, context: 8 }, 1), 'INVALID_ARGUMENT');
    expectCode(() => new BatchIterator(packed, 2, { start: { epoch: 0, index: 10 } }), 'INVALID_ARGUMENT');
    expectCode(() => new BatchIterator(packed, 2, { start: { epoch: -1, index: 0 } }), 'INVALID_ARGUMENT');
  });
});

describe('unigramEntropy', () => {
  it('is 0 for one repeated token and ln k for k equally frequent tokens', () => {
    expect(unigramEntropy([3, 3, 3], 5)).toBe(0);
    expect(unigramEntropy([0, 1, 2, 3], 4)).toBeCloseTo(Math.log(4), 12);
    expect(unigramEntropy(new Int32Array([0, 0, 1, 1]), 2)).toBeCloseTo(Math.log(2), 12);
  });

  it('matches the formula on a skewed distribution', () => {
    const p = [0.5, 0.25, 0.25];
    expect(unigramEntropy([0, 0, 1, 2], 3)).toBeCloseTo(-p.reduce((s, q) => s + q * Math.log(q), 0), 12);
  });

  it('rejects no tokens and ids outside the vocabulary', () => {
    expectCode(() => unigramEntropy([], 10), 'INVALID_ARGUMENT');
    expectCode(() => unigramEntropy([1], 0), 'INVALID_ARGUMENT');
    expectCode(() => unigramEntropy([10], 10), 'TOKEN_OUT_OF_RANGE');
    expectCode(() => unigramEntropy([-1], 10), 'TOKEN_OUT_OF_RANGE');
  });
});
