/**
 * Text generation: token by token, as an async iterator, so callers can stream. Sampling randomness comes from
 * one seeded generator, so the same seed gives the same text.
 */
import { TokenStream } from './decode/token-stream.js';
import type { DecoderMode } from './decode/decoder.js';
import type { LanguageModel, SamplingOptions } from './model.js';

export interface GenerateOptions extends SamplingOptions {
  /** How many tokens to produce at most. */
  maxNewTokens: number;
  /** Seed of the sampling draws. Default 0. */
  seed?: number;
  /** Stop after producing this token (typically end-of-text). */
  stopToken?: number;
  /** Abort generation early. */
  signal?: AbortSignal;
  /**
   * 'auto' (default) decodes with the model's cache (every built-in kind has one); 'full-prefix' re-runs the
   * model over the prefix for every token, the only path for a model without a cache.
   */
  decoder?: DecoderMode;
  /** 'auto' decodes under bf16 autocast on a GPU; 'fp32' never. */
  precision?: 'auto' | 'fp32';
}

export interface GeneratedToken {
  token: number;
  /** Log-probability of the token under the model. */
  logProb: number;
}

/**
 * Yields new tokens after `prompt`, through a `Decoder` (lib/decode): the prompt is prefilled once and each token
 * is one step. Once the text outgrows the context, each token re-reads the last `context` tokens (position-indexed
 * weights cannot slide), the same window the full-prefix path uses.
 */
export function generateTokens(model: LanguageModel, prompt: readonly number[], options: GenerateOptions): AsyncGenerator<GeneratedToken> {
  return new TokenStream(model, prompt, options)[Symbol.asyncIterator]();
}

/** Generates and collects the new tokens. */
export async function generate(model: LanguageModel, prompt: readonly number[], options: GenerateOptions): Promise<number[]> {
  const out: number[] = [];
  for await (const t of generateTokens(model, prompt, options)) out.push(t.token);
  return out;
}
