/**
 * Byte-level BPE training to an exact vocabulary size.
 *
 * The Hugging Face binding can train BPE but cannot be told the vocabulary size, so maskmix learns the merges
 * itself and hands the library a finished `tokenizer.json`. Pre-tokenisation matches the library's `ByteLevel`
 * pre-tokenizer exactly, so that encoding with the library applies the merges the way they were learned.
 */
import { byteLevelPreTokenizer, type PreTokenizer } from 'tokenizers';

import { check, MaskmixError } from '../errors.js';
import { BYTE_TO_CHAR, CHAR_TO_BYTE, splitPreTokens, toByteLevel } from './byte-level.js';
import { PairHeap } from './pair-heap.js';
import { toTokenizerJson, type HfTokenizerJson } from './tokenizer-json.js';

/** The one special token maskmix uses by default: it ends every document and pads short sequences. */
export const END_OF_TEXT = '<|endoftext|>';

/** Options for {@link trainBpe}. */
export interface BpeTrainOptions {
  /** Exact size of the finished vocabulary, special tokens and the 256 byte symbols included. */
  vocabSize: number;
  /** Special tokens, given the first ids in this order. Default `['<|endoftext|>']`. */
  specialTokens?: readonly string[];
}

/** What training learned: everything needed to write a `tokenizer.json`. */
export interface TrainedBpe {
  /** Token strings (byte-level spelling; specials as written) indexed by id. Length is the vocabulary size. */
  tokens: string[];
  /** Merges in rank order (first learned first); each joins two existing tokens. */
  merges: Array<[string, string]>;
  /** The special tokens, which hold ids `0 … specialTokens.length - 1`. */
  specialTokens: string[];
}

/**
 * Learns byte-level BPE merges from `documents` until the vocabulary holds exactly `options.vocabSize` tokens.
 *
 * Ids: special tokens first, then the 256 bytes in byte order, then merged tokens in the order learned. At each
 * step the most frequent adjacent pair is merged; ties go to the pair whose (left id, right id) is smallest, so the
 * result depends only on the data. Occurrences of a special token inside a document are cut out before
 * pre-tokenisation, as the library does when it encodes.
 *
 * Throws `INVALID_ARGUMENT` for a bad size or special token list, an empty corpus, or a corpus too small to
 * supply enough distinct merges.
 */
export function trainBpe(documents: Iterable<string>, options: BpeTrainOptions): TrainedBpe {
  check(options != null && typeof options === 'object', 'trainBpe needs options { vocabSize }');
  check(options.specialTokens === undefined || Array.isArray(options.specialTokens), 'specialTokens must be an array of strings');
  const specialTokens = [...(options.specialTokens ?? [END_OF_TEXT])];
  checkSpecialTokens(specialTokens);
  const { vocabSize } = options;
  const minimum = specialTokens.length + 256;
  check(
    Number.isSafeInteger(vocabSize) && vocabSize >= minimum && vocabSize <= 1 << 24,
    `vocabSize must be an integer from ${minimum} (256 bytes + ${specialTokens.length} special) to ${1 << 24}, got ${vocabSize}`,
  );

  const wordCounts = countWords(documents, specialTokens);
  check(wordCounts.size > 0, 'the training corpus is empty: there is no text to learn merges from');

  const tokens = [...specialTokens, ...BYTE_TO_CHAR];
  const idOf = new Map<string, number>(tokens.map((t, id) => [t, id]));
  const merges = learnMerges(wordCounts, tokens, idOf, specialTokens.length, vocabSize);
  return { tokens, merges, specialTokens };
}

/**
 * Trains with {@link trainBpe} and returns the finished `tokenizer.json` object; `JSON.stringify` it to save it,
 * or pass it to `Tokenizer.fromJSON`.
 */
export function trainBpeTokenizer(documents: Iterable<string>, options: BpeTrainOptions): HfTokenizerJson {
  return toTokenizerJson(trainBpe(documents, options));
}

function checkSpecialTokens(specialTokens: string[]): void {
  const seen = new Set<string>();
  for (const token of specialTokens) {
    check(typeof token === 'string' && token.length > 0, 'special tokens must be non-empty strings');
    check(!seen.has(token), `special token ${JSON.stringify(token)} is listed twice`);
    // A special spelled like a byte symbol would need two ids for one string in the vocabulary.
    check(!CHAR_TO_BYTE.has(token), `special token ${JSON.stringify(token)} collides with a byte symbol`);
    seen.add(token);
  }
}

/** Characters for which JavaScript's Unicode tables were checked to agree with the library's regex engine. */
const FAST_SPLIT_SAFE = /^[\u0000-\u087f]*$/;

/**
 * Counts byte-level pre-tokens over the corpus. Text whose characters are all in the checked range is split with
 * a JavaScript copy of the library's pattern (about ten times faster); anything else goes through the library's
 * own pre-tokenizer, because newer Unicode letters are classified differently by the two regex engines.
 */
function countWords(documents: Iterable<string>, specialTokens: string[]): Map<string, number> {
  check(
    documents != null && typeof documents !== 'string' && typeof documents[Symbol.iterator] === 'function',
    'documents must be an iterable of strings (an array, a Set, a generator …), not a single string',
  );
  const specialsPattern = new RegExp(
    [...specialTokens]
      .sort((a, b) => b.length - a.length)
      .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|'),
    'g',
  );
  const rawCounts = new Map<string, number>();
  const mappedCounts = new Map<string, number>();
  let slowSplitter: PreTokenizer | undefined;

  for (const doc of documents) {
    check(typeof doc === 'string', `documents must be strings, got ${typeof doc}`);
    for (const piece of doc.split(specialsPattern)) {
      if (piece.length === 0) continue;
      if (FAST_SPLIT_SAFE.test(piece)) {
        for (const word of splitPreTokens(piece)) rawCounts.set(word, (rawCounts.get(word) ?? 0) + 1);
      } else {
        slowSplitter ??= byteLevelPreTokenizer(false, true);
        for (const [word] of slowSplitter.preTokenizeString(piece)) mappedCounts.set(word, (mappedCounts.get(word) ?? 0) + 1);
      }
    }
  }
  for (const [word, count] of rawCounts) {
    const mapped = toByteLevel(word);
    mappedCounts.set(mapped, (mappedCounts.get(mapped) ?? 0) + count);
  }
  return mappedCounts;
}

/**
 * The merge loop. Each distinct word is kept once, as a symbol array with its corpus frequency; pair counts are
 * updated only around the places a merge touches, and an index from pair to the words that contain it means a
 * merge visits only those words.
 */
function learnMerges(
  wordCounts: Map<string, number>,
  tokens: string[],
  idOf: Map<string, number>,
  firstByteId: number,
  vocabSize: number,
): Array<[string, string]> {
  const base = vocabSize; // every id is below vocabSize, so a*base+b is a unique pair key ordered by (a, b)
  const words: Int32Array[] = [];
  const lengths: number[] = [];
  const freqs: number[] = [];
  for (const [word, count] of wordCounts) {
    const symbols = new Int32Array(word.length);
    for (let i = 0; i < word.length; i++) symbols[i] = firstByteId + CHAR_TO_BYTE.get(word[i])!;
    words.push(symbols);
    lengths.push(word.length);
    freqs.push(count);
  }

  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, number[]>(); // may hold repeats and words that lost the pair; checked on use
  const addWord = (key: number, w: number) => {
    const list = pairWords.get(key);
    if (list === undefined) pairWords.set(key, [w]);
    else if (list[list.length - 1] !== w) list.push(w);
  };
  for (let w = 0; w < words.length; w++) {
    const s = words[w];
    for (let i = 0; i + 1 < lengths[w]; i++) {
      const key = s[i] * base + s[i + 1];
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + freqs[w]);
      addWord(key, w);
    }
  }
  const heap = new PairHeap();
  for (const [key, count] of pairCounts) heap.push(count, key);

  const merges: Array<[string, string]> = [];
  const visited = new Int32Array(words.length).fill(-1);
  const grown = new Set<number>();
  const bump = (key: number, delta: number) => {
    const next = (pairCounts.get(key) ?? 0) + delta;
    if (next === 0) pairCounts.delete(key); // keeps the map to pairs that still occur
    else pairCounts.set(key, next);
  };

  while (tokens.length < vocabSize) {
    const key = popBestPair(heap, pairCounts);
    if (key < 0) {
      throw new MaskmixError(
        'INVALID_ARGUMENT',
        `the corpus ran out of pairs to merge at ${tokens.length} tokens; it is too small for vocabSize ${vocabSize}`,
      );
    }
    const a = Math.floor(key / base);
    const b = key - a * base;
    const text = tokens[a] + tokens[b];
    let c = idOf.get(text);
    if (c === undefined) {
      c = tokens.length;
      tokens.push(text);
      idOf.set(text, c);
    } else if (c < firstByteId) {
      throw new MaskmixError('INVALID_ARGUMENT', `a learned token is spelled like the special token ${JSON.stringify(text)}`);
    }
    // A second merge may spell an existing token (a+bc vs ab+c); it reuses that id and adds no vocabulary entry.
    merges.push([tokens[a], tokens[b]]);

    const step = merges.length;
    grown.clear();
    for (const w of pairWords.get(key) ?? []) {
      if (visited[w] === step) continue;
      visited[w] = step;
      const s = words[w];
      const len = lengths[w];
      const f = freqs[w];
      // Rewrite the word in place, left to right. `s[out - 1]` is already the rewritten left neighbour, which is
      // what keeps back-to-back occurrences (a b a b -> c c) counted correctly.
      let out = 0;
      let i = 0;
      while (i < len) {
        if (i + 1 < len && s[i] === a && s[i + 1] === b) {
          bump(key, -f);
          if (out > 0) {
            const left = s[out - 1];
            bump(left * base + a, -f);
            bump(left * base + c, f);
            grown.add(left * base + c);
            addWord(left * base + c, w);
          }
          if (i + 2 < len) {
            const right = s[i + 2];
            bump(b * base + right, -f);
            bump(c * base + right, f);
            grown.add(c * base + right);
            addWord(c * base + right, w);
          }
          s[out++] = c;
          i += 2;
        } else {
          s[out++] = s[i++];
        }
      }
      lengths[w] = out;
    }
    pairWords.delete(key);
    for (const k of grown) {
      const count = pairCounts.get(k)!;
      if (count > 0) heap.push(count, k);
    }
  }
  return merges;
}

/**
 * Pops heap entries until one matches its pair's current count, and returns that pair's key (or -1 when no pair
 * is left). An entry above the current count is re-queued at the lower count; one below it is dropped, because
 * a fresh entry was pushed when the count grew.
 */
function popBestPair(heap: PairHeap, pairCounts: Map<number, number>): number {
  while (heap.size > 0) {
    const stored = heap.peekCount();
    const key = heap.peekKey();
    heap.pop();
    const actual = pairCounts.get(key) ?? 0;
    if (actual === stored && actual > 0) return key;
    if (actual > 0 && actual < stored) heap.push(actual, key);
  }
  return -1;
}
