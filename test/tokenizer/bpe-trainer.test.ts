import { beforeAll, describe, expect, it } from 'vitest';

import { loadBrownCorpus } from '../../lib/data/brown.js';
import { expectCode } from '../expect-code.js';
import { BYTE_TO_CHAR, byteLevelPreTokenize } from '../../lib/tokenizer/byte-level.js';
import { END_OF_TEXT, trainBpe, type TrainedBpe } from '../../lib/tokenizer/bpe-trainer.js';

/**
 * The textbook algorithm, slow but obviously right: recount every pair before every merge, take the most frequent
 * (ties to the smallest (left id, right id)), merge it left to right everywhere. The real trainer must agree.
 */
function naiveTrain(docs: string[], vocabSize: number): Array<[string, string]> {
  const counts = new Map<string, number>();
  for (const doc of docs) for (const w of byteLevelPreTokenize(doc)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const tokens = [END_OF_TEXT, ...BYTE_TO_CHAR];
  const idOf = new Map(tokens.map((t, i) => [t, i]));
  const words = [...counts].map(([w, f]) => ({ symbols: [...w].map((ch) => idOf.get(ch)!), f }));
  const merges: Array<[string, string]> = [];
  while (tokens.length < vocabSize) {
    const pairs = new Map<string, number>();
    for (const { symbols, f } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const k = `${symbols[i]},${symbols[i + 1]}`;
        pairs.set(k, (pairs.get(k) ?? 0) + f);
      }
    }
    let best: [number, number] | undefined;
    let bestCount = 0;
    for (const [k, count] of pairs) {
      const [a, b] = k.split(',').map(Number);
      if (count > bestCount || (count === bestCount && (a < best![0] || (a === best![0] && b < best![1])))) {
        best = [a, b];
        bestCount = count;
      }
    }
    if (!best) throw new Error('out of pairs');
    const [a, b] = best;
    const text = tokens[a] + tokens[b];
    if (!idOf.has(text)) {
      idOf.set(text, tokens.length);
      tokens.push(text);
    }
    const c = idOf.get(text)!;
    merges.push([tokens[a], tokens[b]]);
    for (const word of words) {
      const out: number[] = [];
      for (let i = 0; i < word.symbols.length; i++) {
        if (i + 1 < word.symbols.length && word.symbols[i] === a && word.symbols[i + 1] === b) {
          out.push(c);
          i++;
        } else out.push(word.symbols[i]);
      }
      word.symbols = out;
    }
  }
  return merges;
}

function expectWellFormed(trained: TrainedBpe, vocabSize: number): void {
  expect(trained.tokens.length).toBe(vocabSize);
  expect(new Set(trained.tokens).size).toBe(vocabSize);
  const n = trained.specialTokens.length;
  expect(trained.tokens.slice(0, n)).toEqual(trained.specialTokens);
  expect(trained.tokens.slice(n, n + 256)).toEqual(BYTE_TO_CHAR);
  // Every merge joins tokens that existed before it, and the merged tokens appear in merge order.
  const seen = new Set(trained.tokens.slice(0, n + 256));
  let next = n + 256;
  for (const [left, right] of trained.merges) {
    expect(seen.has(left) && seen.has(right)).toBe(true);
    if (!seen.has(left + right)) {
      expect(trained.tokens[next++]).toBe(left + right);
      seen.add(left + right);
    }
  }
  expect(next).toBe(vocabSize);
}

describe('trainBpe on the Brown corpus', () => {
  let brown: string[];
  beforeAll(() => {
    brown = loadBrownCorpus();
  });

  it.each([300, 1000])('reaches exactly vocabSize %i', (vocabSize) => {
    const trained = trainBpe(brown, { vocabSize });
    expectWellFormed(trained, vocabSize);
    expect(trained.tokens[0]).toBe(END_OF_TEXT);
    expect(trained.merges[0]).toEqual(['Ġ', 't']); // " t" is the most frequent byte pair of English
  });

  it('trains a 4096 vocabulary on the whole corpus in a few seconds', () => {
    const start = performance.now();
    const trained = trainBpe(brown, { vocabSize: 4096 });
    const seconds = (performance.now() - start) / 1000;
    console.log(`trainBpe: 4096 tokens on ${brown.length} Brown documents in ${seconds.toFixed(2)} s`);
    expectWellFormed(trained, 4096);
    expect(trained.tokens).toContain('Ġthe');
    expect(seconds).toBeLessThan(20); // a generous bound for slow CI machines; it takes about one second
  });
});

describe('trainBpe', () => {
  it('matches the textbook algorithm merge for merge', () => {
    let seed = 99;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
    let compared = 0;
    for (let trial = 0; trial < 40; trial++) {
      const docs: string[] = [];
      for (let d = 0; d < 3; d++) {
        const words: string[] = [];
        for (let w = 0; w < 30; w++) {
          let word = rand() < 0.5 ? ' ' : '';
          const length = 1 + Math.floor(rand() * 7);
          for (let i = 0; i < length; i++) word += 'aab b.c'[Math.floor(rand() * 7)];
          words.push(word);
        }
        docs.push(words.join(''));
      }
      const vocabSize = 257 + 5 + Math.floor(rand() * 15);
      let expected: Array<[string, string]>;
      try {
        expected = naiveTrain(docs, vocabSize);
      } catch {
        continue; // this corpus runs out of pairs; covered by its own test
      }
      expect(trainBpe(docs, { vocabSize }).merges).toEqual(expected);
      compared++;
    }
    expect(compared).toBeGreaterThan(30);
  });

  it('merges repeated symbols correctly (aaaa → aa aa)', () => {
    const docs = ['aaaa aaa aaaaa aa', 'aaaaaaa b aaaa'];
    expect(trainBpe(docs, { vocabSize: 262 }).merges).toEqual(naiveTrain(docs, 262));
  });

  it('is deterministic and independent of document order', () => {
    const docs = ['the cat sat on the mat', 'a dog and a cat', 'the end of the story is near', 'mat mat mat cat'];
    const first = trainBpe(docs, { vocabSize: 280 });
    expect(trainBpe(docs, { vocabSize: 280 })).toEqual(first);
    expect(trainBpe([...docs].reverse(), { vocabSize: 280 })).toEqual(first);
  });

  it('breaks count ties by the smaller pair of ids', () => {
    // "ab" and "cd" both occur once; a < c, so a+b is merged first.
    expect(trainBpe(['cd', 'ab'], { vocabSize: 259 }).merges.slice(0, 2)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });

  it('gives special tokens the first ids and learns nothing from their text', () => {
    const docs = ['hello<|endoftext|>hello<|endoftext|><pad>hello'];
    const trained = trainBpe(docs, { vocabSize: 262, specialTokens: ['<|endoftext|>', '<pad>'] });
    expectWellFormed(trained, 262);
    expect(trained.tokens.slice(0, 2)).toEqual(['<|endoftext|>', '<pad>']);
    for (const [left, right] of trained.merges) expect(left + right).toMatch(/^[helo]+$/);
  });

  it('accepts any iterable of documents, including non-Latin text', () => {
    function* docs() {
      yield '日本語のテキストと English text';
      yield '日本語 😀😀 Ελληνικά';
    }
    expectWellFormed(trainBpe(docs(), { vocabSize: 280 }), 280);
  });

  it('rejects a vocabulary that cannot hold the bytes and specials', () => {
    for (const vocabSize of [0, 100, 256, 257.5, Number.NaN]) expectCode(() => trainBpe(['some text'], { vocabSize }), 'INVALID_ARGUMENT');
    expectCode(() => trainBpe(['some text'], { vocabSize: 257, specialTokens: ['<a>', '<b>'] }), 'INVALID_ARGUMENT');
    expect(trainBpe(['some text'], { vocabSize: 257 }).merges).toEqual([]);
  });

  it('rejects an empty corpus and one too small for the vocabulary', () => {
    expectCode(() => trainBpe([], { vocabSize: 300 }), 'INVALID_ARGUMENT');
    expectCode(() => trainBpe(['', '<|endoftext|>'], { vocabSize: 300 }), 'INVALID_ARGUMENT');
    expectCode(() => trainBpe(['ab'], { vocabSize: 300 }), 'INVALID_ARGUMENT');
  });

  it('rejects bad documents and special tokens', () => {
    expectCode(() => trainBpe(['ok', 3 as unknown as string], { vocabSize: 300 }), 'INVALID_ARGUMENT');
    expectCode(() => trainBpe('not an array' as unknown as string[], { vocabSize: 300 }), 'INVALID_ARGUMENT');
    expectCode(() => trainBpe(['text'], { vocabSize: 300, specialTokens: ['<s>', '<s>'] }), 'INVALID_ARGUMENT');
    expectCode(() => trainBpe(['text'], { vocabSize: 300, specialTokens: [''] }), 'INVALID_ARGUMENT');
    expectCode(() => trainBpe(['text'], { vocabSize: 300, specialTokens: ['a'] }), 'INVALID_ARGUMENT');
  });
});
