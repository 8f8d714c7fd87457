/**
 * The synthetic suite of the structured-linear-mixing paper (../shared/reference/structured-linear-mixing-notes.md
 * §4): copy, associative recall and multi-hop recall. Each generator writes token sequences of exactly `context`
 * tokens (padded at the end) and an answer mask: 1 on the tokens a model must predict, 0 elsewhere. Loss and
 * accuracy count answer tokens only, so the rest of the sequence is context the model reads but is not scored on.
 * The paper's sizes are unknown; ours fill the context, and every task draws from the same seeded generator so a
 * seed gives the same batches on every machine.
 */
import { MaskmixError, check } from '../errors.js';
import { mulberry32, type Rng } from '../data/random.js';

/** Token 0 pads the tail (and is the model's padId, so it is never a target). */
export const SYNTHETIC_PAD = 0;
/** Token 1 separates the part a task shows from the part it asks about. */
export const SYNTHETIC_SEPARATOR = 1;
/** Content tokens are 2 … vocabSize−1. */
const FIRST_SYMBOL = 2;

export const SYNTHETIC_TASKS = ['copy', 'recall', 'multihop'] as const;
export type SyntheticTaskName = (typeof SYNTHETIC_TASKS)[number];

export interface SyntheticTaskOptions {
  /** Sequence length n (every sequence is padded to it). Default 64. */
  context?: number;
  /** Vocabulary size V: 0 pad, 1 separator, 2 … V−1 content. Default 64. */
  vocabSize?: number;
  /** Multi-hop only: lookups chained per query (default 2). */
  hops?: number;
}

/** A batch of task sequences, row after row, with one mask entry per token. */
export interface SyntheticBatch {
  tokens: Int32Array;
  /** 1 where the token is an answer (the target of the position before it). */
  answerMask: Uint8Array;
  batch: number;
  context: number;
}

export interface SyntheticTask {
  name: SyntheticTaskName;
  context: number;
  vocabSize: number;
  /** Answer tokens per sequence. */
  answersPerSequence: number;
  /** Writes one sequence into `tokens`/`mask` (both `context` long, zeroed). */
  fill(tokens: Int32Array, mask: Uint8Array, rng: Rng): void;
}

/** `count` distinct content symbols in random order. */
function distinctSymbols(count: number, vocabSize: number, rng: Rng): number[] {
  const pool = Array.from({ length: vocabSize - FIRST_SYMBOL }, (_, i) => FIRST_SYMBOL + i);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rng() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, count);
}

function randomSymbol(vocabSize: number, rng: Rng): number {
  return FIRST_SYMBOL + Math.floor(rng() * (vocabSize - FIRST_SYMBOL));
}

function shuffled<T>(items: T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Copy: `x1 … xL SEP x1 … xL`, L = ⌊(n−1)/2⌋ random symbols; the answers are the second copy.
 */
function copyTask(context: number, vocabSize: number): SyntheticTask {
  const length = Math.floor((context - 1) / 2);
  check(length >= 1, `copy needs context ≥ 3, got ${context}`);
  return {
    name: 'copy',
    context,
    vocabSize,
    answersPerSequence: length,
    fill(tokens, mask, rng) {
      for (let i = 0; i < length; i++) {
        const symbol = randomSymbol(vocabSize, rng);
        tokens[i] = symbol;
        tokens[length + 1 + i] = symbol;
        mask[length + 1 + i] = 1;
      }
      tokens[length] = SYNTHETIC_SEPARATOR;
    },
  };
}

/** Queries per sequence: half the pairs (rounded up), each asked once, so answering by elimination stays weak. */
const queriesFor = (items: number) => Math.ceil(items / 2);

/** The most items (pairs or chains) whose `linkTokens` tokens each, a SEP and their queries fit in `context`. */
function itemsThatFit(context: number, linkTokens: number): number {
  let items = 0;
  while (linkTokens * (items + 1) + 1 + 2 * queriesFor(items + 1) <= context) items++;
  return items;
}

/**
 * Associative recall (MQAR-like): `k1 v1 … kP vP SEP q1 a1 … qQ aQ` with P distinct keys, random values and
 * Q = ⌈P/2⌉ distinct keys asked in random order; a_i is the value bound to q_i. P is as large as fits.
 * Asking only half the keys matters: asking every key once would let a model score
 * Σ 1/(P−k) / P by elimination (the values not yet answered) without reading the query at all.
 */
function recallTask(context: number, vocabSize: number): SyntheticTask {
  const pairs = itemsThatFit(context, 2);
  check(pairs >= 1, `recall needs context ≥ 5, got ${context}`);
  check(vocabSize - FIRST_SYMBOL >= pairs, `recall with ${pairs} pairs needs vocabSize ≥ ${pairs + FIRST_SYMBOL} (distinct keys), got ${vocabSize}`);
  const queries = queriesFor(pairs);
  return {
    name: 'recall',
    context,
    vocabSize,
    answersPerSequence: queries,
    fill(tokens, mask, rng) {
      const keys = distinctSymbols(pairs, vocabSize, rng);
      const values = keys.map(() => randomSymbol(vocabSize, rng));
      keys.forEach((k, i) => {
        tokens[2 * i] = k;
        tokens[2 * i + 1] = values[i];
      });
      tokens[2 * pairs] = SYNTHETIC_SEPARATOR;
      const start = 2 * pairs + 1;
      shuffled(keys.map((_, i) => i), rng).slice(0, queries).forEach((pair, q) => {
        tokens[start + 2 * q] = keys[pair];
        tokens[start + 2 * q + 1] = values[pair];
        mask[start + 2 * q + 1] = 1;
      });
    },
  };
}

/**
 * Multi-hop recall: C disjoint chains e0 → e1 → … → eH of distinct symbols, shown as C·H shuffled `key value`
 * pairs, then `SEP q1 a1 … qQ aQ` where q is the start of one of Q = ⌈C/2⌉ distinct chains and a its end: H
 * lookups, no intermediate shown. C is as large as fits. Chance: about 1/C (a model can learn which symbols end
 * chains, but not which end belongs to the query without following the links).
 */
function multihopTask(context: number, vocabSize: number, hops: number): SyntheticTask {
  check(Number.isInteger(hops) && hops >= 1, `hops must be a positive integer, got ${hops}`);
  const chains = Math.min(itemsThatFit(context, 2 * hops), Math.floor((vocabSize - FIRST_SYMBOL) / (hops + 1)));
  check(chains >= 1, `multihop with ${hops} hops needs context ≥ ${2 * hops + 3} and vocabSize ≥ ${hops + 1 + FIRST_SYMBOL}`);
  const queries = queriesFor(chains);
  return {
    name: 'multihop',
    context,
    vocabSize,
    answersPerSequence: queries,
    fill(tokens, mask, rng) {
      const symbols = distinctSymbols(chains * (hops + 1), vocabSize, rng);
      const chain = (c: number) => symbols.slice(c * (hops + 1), (c + 1) * (hops + 1));
      const edges: Array<[number, number]> = [];
      for (let c = 0; c < chains; c++) {
        const links = chain(c);
        for (let h = 0; h < hops; h++) edges.push([links[h], links[h + 1]]);
      }
      shuffled(edges, rng).forEach(([from, to], i) => {
        tokens[2 * i] = from;
        tokens[2 * i + 1] = to;
      });
      const start = 2 * edges.length + 1;
      tokens[start - 1] = SYNTHETIC_SEPARATOR;
      shuffled(Array.from({ length: chains }, (_, c) => c), rng).slice(0, queries).forEach((c, q) => {
        const links = chain(c);
        tokens[start + 2 * q] = links[0];
        tokens[start + 2 * q + 1] = links[hops];
        mask[start + 2 * q + 1] = 1;
      });
    },
  };
}

/** The task by name, sized by `options`. @throws MaskmixError INVALID_ARGUMENT for an unknown name or sizes too small */
export function syntheticTask(name: string, options: SyntheticTaskOptions = {}): SyntheticTask {
  const context = options.context ?? 64;
  const vocabSize = options.vocabSize ?? 64;
  check(Number.isInteger(context) && context >= 3, `context must be an integer ≥ 3, got ${context}`);
  check(Number.isInteger(vocabSize) && vocabSize >= FIRST_SYMBOL + 2, `vocabSize must be an integer ≥ ${FIRST_SYMBOL + 2}, got ${vocabSize}`);
  switch (name) {
    case 'copy':
      return copyTask(context, vocabSize);
    case 'recall':
      return recallTask(context, vocabSize);
    case 'multihop':
      return multihopTask(context, vocabSize, options.hops ?? 2);
    default:
      throw new MaskmixError('INVALID_ARGUMENT', `unknown synthetic task '${name}'; the tasks are ${SYNTHETIC_TASKS.join(', ')}`);
  }
}

/** A deterministic batch: the same task, seed and batch size give the same tokens and mask. */
export function syntheticBatch(task: SyntheticTask, batch: number, seed: number): SyntheticBatch {
  check(Number.isInteger(batch) && batch >= 1, `batch must be a positive integer, got ${batch}`);
  const rng = mulberry32(seed);
  const n = task.context;
  const tokens = new Int32Array(batch * n);
  const answerMask = new Uint8Array(batch * n);
  for (let b = 0; b < batch; b++) task.fill(tokens.subarray(b * n, (b + 1) * n), answerMask.subarray(b * n, (b + 1) * n), rng);
  return { tokens, answerMask, batch, context: n };
}
