/**
 * Retrieval embeddings (paper §6): a sequence's embedding is the model's final hidden state at its second-to-last
 * (or last) token. Sequences are left-padded to one fixed length, so that token is real text at the same position
 * for every input — a masked mixer's weights depend on the absolute position — and compared by cosine similarity.
 */
import { check } from '../errors.js';
import type { LanguageModel, TokenBatch } from '../model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { Embeddings } from './top-one.js';

export type { Embeddings };

export type EmbeddingToken = 'last' | 'second-to-last';

export interface EmbedOptions {
  /** Whose hidden state embeds a sequence (default 'second-to-last', the paper's choice). */
  token?: EmbeddingToken;
  /** Every sequence is cut to its first `length` tokens and left-padded to `length` (default the model's context). */
  length?: number;
  /** Sequences per forward pass (default 64). */
  batchSize?: number;
  /** Encodes texts; required when the input is texts. */
  tokenizer?: Tokenizer;
  /** 'fp32' turns off bf16 autocast on a GPU. */
  precision?: 'auto' | 'fp32';
  /** Called after each forward pass with the sequences embedded so far. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Sequences cut to their first `length` tokens and left-padded with `padId`: [sequences.length, length] row-major.
 * Empty sequences are refused (nothing to embed).
 */
export function leftPad(sequences: readonly ArrayLike<number>[], length: number, padId: number): Int32Array {
  check(Number.isInteger(length) && length >= 1, `length must be a positive integer, got ${length}`);
  const out = new Int32Array(sequences.length * length).fill(padId);
  sequences.forEach((seq, row) => {
    check(seq.length > 0, `sequence ${row} is empty: there is nothing to embed`);
    const n = Math.min(seq.length, length);
    for (let i = 0; i < n; i++) out[row * length + length - n + i] = seq[i];
  });
  return out;
}

/**
 * Embeds texts (with `options.tokenizer`), token sequences of any lengths (cut and left-padded here), or a ready
 * {@link TokenBatch} (used as it is). @throws MaskmixError INVALID_ARGUMENT for texts without a tokenizer.
 */
export async function embed(
  model: LanguageModel,
  input: readonly string[] | readonly ArrayLike<number>[] | TokenBatch,
  options: EmbedOptions = {},
): Promise<Embeddings> {
  const token = options.token ?? 'second-to-last';
  const batchSize = options.batchSize ?? 64;
  check(Number.isInteger(batchSize) && batchSize >= 1, `batchSize must be a positive integer, got ${batchSize}`);
  let tokens: Int32Array;
  let count: number;
  if (!Array.isArray(input)) {
    const batch = input as TokenBatch;
    tokens = batch.tokens;
    count = batch.batch;
    check(count >= 1 && tokens.length % count === 0, 'a TokenBatch holds batch rows of equal length');
  } else {
    const length = options.length ?? model.config.context;
    let sequences = input as readonly ArrayLike<number>[];
    if (input.length > 0 && typeof input[0] === 'string') {
      check(options.tokenizer !== undefined, 'embedding texts needs a tokenizer (options.tokenizer)');
      sequences = await options.tokenizer.encodeBatch(input as string[]);
    }
    tokens = leftPad(sequences, length, model.config.padId);
    count = sequences.length;
  }
  if (count === 0) return { vectors: new Float32Array(0), count: 0, dim: model.config.dModel };
  const t = tokens.length / count;
  const dim = model.config.dModel;
  const vectors = new Float32Array(count * dim);
  for (let start = 0; start < count; start += batchSize) {
    const rows = Math.min(batchSize, count - start);
    const out = await model.embedTokens(
      { tokens: tokens.subarray(start * t, (start + rows) * t), batch: rows },
      { token, precision: options.precision },
    );
    vectors.set(out.toTypedArray() as Float32Array, start * dim);
    out.dispose();
    options.onProgress?.(start + rows, count);
  }
  return { vectors, count, dim };
}
