/** Shared checks of decoding against the full forward (SPEC §6.2: ≤ 1e-4 relative, fp32). */
import { expect } from 'vitest';

import { Decoder } from '../../lib/decode/decoder.js';
import type { LanguageModel } from '../../lib/model.js';
import { maxRelativeError } from '../helpers.js';

export const TOLERANCE = 1e-4;

/** Logits of every position from the full forward: [batch, t, V] flattened. */
export async function fullLogits(model: LanguageModel, tokens: Int32Array, batch = 1): Promise<Float32Array> {
  return (await model.forward(tokens, batch)).toTypedArray() as Float32Array;
}

/** Rows [from, to) of each sequence of a [batch, t, V] array. */
export function positions(all: Float32Array, batch: number, t: number, vocab: number, from: number, to: number): Float32Array {
  const out = new Float32Array(batch * (to - from) * vocab);
  for (let b = 0; b < batch; b++) out.set(all.subarray((b * t + from) * vocab, (b * t + to) * vocab), b * (to - from) * vocab);
  return out;
}

/** Columns [from, to) of a [batch, t] token array, row after row. */
export function columns(tokens: Int32Array, batch: number, t: number, from: number, to: number): Int32Array {
  const out = new Int32Array(batch * (to - from));
  for (let b = 0; b < batch; b++) out.set(tokens.subarray(b * t + from, b * t + to), b * (to - from));
  return out;
}

/**
 * Decodes `tokens` ([batch, t]) in the given pieces — a number m > 1 is a prefill of m tokens, 1 a step — and
 * returns the logits of every position as [batch, t, V].
 */
export async function decodeInPieces(decoder: Decoder, tokens: Int32Array, t: number, pieces: number[]): Promise<Float32Array> {
  const batch = decoder.batch;
  const vocab = decoder.model.config.vocabSize;
  const out = new Float32Array(batch * t * vocab);
  let at = 0;
  for (const m of pieces) {
    const chunk = columns(tokens, batch, t, at, at + m);
    const logits =
      m === 1 ? ((await decoder.step(chunk)).logits.toTypedArray() as Float32Array) : ((await decoder.prefill(chunk, { logits: 'all' })).logits.toTypedArray() as Float32Array);
    for (let b = 0; b < batch; b++)
      for (let i = 0; i < m; i++) out.set(logits.subarray((b * m + i) * vocab, (b * m + i + 1) * vocab), ((b * t + at + i) * vocab));
    at += m;
  }
  expect(at).toBe(t);
  expect(decoder.position).toBe(t);
  return out;
}

/** Asserts the decoded logits match the full forward's within TOLERANCE. */
export function expectClose(decoded: Float32Array, full: Float32Array, what: string): void {
  const err = maxRelativeError(decoded, full);
  expect(err, `${what}: max relative error ${err.toExponential(2)}`).toBeLessThanOrEqual(TOLERANCE);
}

/**
 * Decodes the one-sequence `tokens` to position 9 (prefill 8, one step), clones the decoder, and asserts the clone
 * sits at the same position with the same cache size and continues bit-identically to the original, which matches
 * the full forward. Returns the full forward's logits.
 */
export async function expectCloneContinuesLikeOriginal(model: LanguageModel, tokens: Int32Array, what: string): Promise<Float32Array> {
  const vocab = model.config.vocabSize;
  const full = await fullLogits(model, tokens);
  const decoder = new Decoder(model);
  await decoder.prefill(tokens.subarray(0, 8));
  await decoder.step(tokens[8]);
  const copy = await decoder.clone();
  expect(copy.position).toBe(9);
  expect(copy.cacheBytes).toBe(decoder.cacheBytes);
  const tail = tokens.subarray(9);
  const fromCopy = (await copy.prefill(tail, { logits: 'all' })).logits.toTypedArray() as Float32Array;
  const fromOriginal = (await decoder.prefill(tail, { logits: 'all' })).logits.toTypedArray() as Float32Array;
  expect(Array.from(fromCopy)).toEqual(Array.from(fromOriginal));
  expectClose(fromOriginal, full.subarray(9 * vocab), `${what} after clone`);
  copy.dispose();
  decoder.dispose();
  return full;
}

/**
 * Greedy decoding as a loop of step() and argmax (ties to the lowest id), one token per sequence at a time: the
 * reference Decoder.greedy is held to. → the chosen tokens of each sequence.
 */
export async function stepLoop(decoder: Decoder, first: number[], count: number): Promise<number[][]> {
  const chosen: number[][] = first.map(() => []);
  let next = first;
  for (let i = 0; i < count; i++) {
    const logits = (await decoder.step(Int32Array.from(next))).logits.toTypedArray() as Float32Array | Float64Array;
    const vocab = logits.length / first.length;
    next = first.map((_, r) => {
      let best = 0;
      for (let v = 1; v < vocab; v++) if (logits[r * vocab + v] > logits[r * vocab + best]) best = v;
      return best;
    });
    next.forEach((t, b) => chosen[b].push(t));
  }
  return chosen;
}
