/**
 * From documents to causal-LM training data: a train/validation split by document, packing of token streams
 * into fixed-length sequences, and the unigram entropy baseline that a trained model has to beat.
 */
import { check, MaskmixError } from '../errors.js';
import { mulberry32, permutation } from './random.js';

export { BatchIterator, batches, type BatchIteratorOptions, type BatchPosition } from './batches.js';

/** Options for {@link splitDocuments}. */
export interface SplitOptions {
  /** Share of documents for validation, strictly between 0 and 1; rounded to whole documents. */
  valFraction: number;
  /** Seed of the shuffle that picks the validation documents. */
  seed: number;
}

/** A split of a document list. Each side keeps the documents' original order. */
export interface DocumentSplit<T> {
  train: T[];
  val: T[];
  /** Positions in the input of the training documents, ascending. */
  trainIndices: number[];
  /** Positions in the input of the validation documents, ascending. */
  valIndices: number[];
}

/**
 * Splits documents (not tokens, so no document leaks across the split) into training and validation sets.
 * The same documents and seed always give the same split. With two or more documents each side gets at least
 * one; a single document goes to training. Throws `INVALID_ARGUMENT` for an empty list or a bad fraction.
 */
export function splitDocuments<T>(docs: readonly T[], options: SplitOptions): DocumentSplit<T> {
  check(Array.isArray(docs), 'documents must be an array');
  check(docs.length > 0, 'cannot split an empty document list');
  const { valFraction, seed } = options;
  check(
    typeof valFraction === 'number' && valFraction > 0 && valFraction < 1,
    `valFraction must be strictly between 0 and 1, got ${valFraction}`,
  );
  const n = docs.length;
  const valCount = n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(n * valFraction)));
  const order = permutation(n, mulberry32(seed));
  const isVal = new Uint8Array(n);
  for (let k = 0; k < valCount; k++) isVal[order[k]] = 1;

  const split: DocumentSplit<T> = { train: [], val: [], trainIndices: [], valIndices: [] };
  for (let i = 0; i < n; i++) {
    if (isVal[i]) {
      split.val.push(docs[i]);
      split.valIndices.push(i);
    } else {
      split.train.push(docs[i]);
      split.trainIndices.push(i);
    }
  }
  return split;
}

/** Options for {@link packSequences}. */
export interface PackOptions {
  /** Tokens per sequence: the model's context length. */
  context: number;
  /** End-of-text id, written after every document. */
  eosId: number;
  /** Id that fills the end of the last sequence; default `eosId`. */
  padId?: number;
  /** When given, every id must be below it (else `TOKEN_OUT_OF_RANGE`). */
  vocabSize?: number;
}

/** Fixed-length training sequences, row after row in one flat array. */
export interface PackedSequences {
  /** `numSequences * context` token ids; row i is `data.subarray(i * context, (i + 1) * context)`. */
  data: Int32Array;
  numSequences: number;
  context: number;
  /** Ids before this flat position are real (documents and their eos); the rest of the last row is padding. */
  realTokens: number;
}

/**
 * Concatenates the documents into one stream, each followed by `eosId`, and cuts it into rows of exactly
 * `context` tokens; the last row is filled with `padId`. Empty documents are skipped (they would only add a
 * second eos). Every document token appears exactly once, in order.
 *
 * Throws `INVALID_ARGUMENT` for bad options or when there is no token at all, `TOKEN_OUT_OF_RANGE` for a
 * negative, non-integer, or (given `vocabSize`) too large id.
 */
export function packSequences(tokenIdsPerDoc: ReadonlyArray<ArrayLike<number>>, options: PackOptions): PackedSequences {
  const { context, eosId } = options;
  const padId = options.padId ?? eosId;
  const vocabSize = options.vocabSize ?? 2 ** 31;
  check(Array.isArray(tokenIdsPerDoc), 'tokenIdsPerDoc must be an array of token id arrays');
  check(Number.isInteger(context) && context >= 1, `context must be a positive integer, got ${context}`);
  check(Number.isInteger(vocabSize) && vocabSize >= 1 && vocabSize <= 2 ** 31, `vocabSize must be a positive integer, got ${vocabSize}`);
  checkId(eosId, vocabSize, 'eosId');
  checkId(padId, vocabSize, 'padId');

  let realTokens = 0;
  for (const doc of tokenIdsPerDoc) {
    check(doc != null && typeof doc.length === 'number', 'each document must be an array of token ids');
    if (doc.length > 0) realTokens += doc.length + 1;
  }
  check(realTokens > 0, 'there are no tokens to pack: every document is empty');

  const numSequences = Math.ceil(realTokens / context);
  const data = new Int32Array(numSequences * context).fill(padId);
  let at = 0;
  for (const doc of tokenIdsPerDoc) {
    if (doc.length === 0) continue;
    for (let i = 0; i < doc.length; i++) {
      const id = doc[i];
      if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) checkId(id, vocabSize, 'token id');
      data[at++] = id;
    }
    data[at++] = eosId;
  }
  return { data, numSequences, context, realTokens };
}

function checkId(id: number, vocabSize: number, what: string): void {
  if (!(typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < vocabSize)) {
    throw new MaskmixError('TOKEN_OUT_OF_RANGE', `${what} ${id} is not an integer in [0, ${vocabSize})`);
  }
}

/**
 * Entropy, in nats per token, of the tokens' own frequency distribution: the loss of the best model that ignores
 * context. A language model's validation loss should come in below this.
 * Throws `INVALID_ARGUMENT` for no tokens, `TOKEN_OUT_OF_RANGE` for an id outside [0, vocabSize).
 */
export function unigramEntropy(tokens: ArrayLike<number>, vocabSize: number): number {
  check(Number.isInteger(vocabSize) && vocabSize >= 1, `vocabSize must be a positive integer, got ${vocabSize}`);
  check(tokens != null && tokens.length > 0, 'unigram entropy needs at least one token');
  const counts = new Float64Array(vocabSize);
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i];
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) checkId(id, vocabSize, 'token id');
    counts[id]++;
  }
  const n = tokens.length;
  let entropy = 0;
  for (const c of counts) if (c > 0) entropy -= (c / n) * Math.log(c / n);
  return entropy;
}
