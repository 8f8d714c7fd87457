/** Checks shared by the mixer- and llama-block autoencoder tests. */
import type { LanguageModel } from '../../lib/model.js';
import { randomTokens } from '../helpers.js';

/** The model's logits for a batch, copied out of the native tensor. */
export async function logitsOf(model: LanguageModel, tokens: Int32Array, batch: number): Promise<Float32Array> {
  const t = await model.forward(tokens, batch);
  const values = Float32Array.from(t.toTypedArray() as Float32Array);
  t.dispose();
  return values;
}

/**
 * How far position 0's logits move when only the last of `length` tokens changes: nonzero means the last token
 * reached the first output (through the encoder's embedding) — a causal language model would give exactly 0.
 */
export async function lastTokenEffectOnFirstPosition(model: LanguageModel, length: number, vocab: number): Promise<number> {
  const base = randomTokens(length, vocab, 5);
  const changed = Int32Array.from(base);
  changed[length - 1] = (changed[length - 1] + 1) % vocab;
  const before = await logitsOf(model, base, 1);
  const after = await logitsOf(model, changed, 1);
  let moved = 0;
  for (let v = 0; v < vocab; v++) moved = Math.max(moved, Math.abs(after[v] - before[v]));
  return moved;
}

/** Mean cross-entropy of token i under logits row i (offset 0: an autoencoder regenerates its input), in float64. */
export function meanOffsetZeroCrossEntropy(logits: Float32Array, tokens: Int32Array, vocab: number): number {
  let sum = 0;
  for (let i = 0; i < tokens.length; i++) {
    const row = logits.subarray(i * vocab, (i + 1) * vocab);
    const max = Math.max(...row);
    sum += max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0)) - row[tokens[i]!]!;
  }
  return sum / tokens.length;
}
