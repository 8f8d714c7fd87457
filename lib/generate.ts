/**
 * Text generation: token by token, as an async iterator, so callers can stream. Sampling randomness comes from
 * one seeded generator, so the same seed gives the same text.
 */
import { check } from './errors.js';
import { mulberry32 } from './data/random.js';
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
}

export interface GeneratedToken {
  token: number;
  /** Log-probability of the token under the model. */
  logProb: number;
}

/**
 * Yields new tokens after `prompt`. For the plain masked mixer every token re-runs the model over the prefix
 * (its mixing has no cache: SPEC §4), using the last `context` tokens once the text outgrows the context.
 */
export async function* generateTokens(
  model: LanguageModel,
  prompt: readonly number[],
  options: GenerateOptions,
): AsyncGenerator<GeneratedToken> {
  check(prompt.length > 0, 'the prompt must hold at least one token');
  check(Number.isInteger(options.maxNewTokens) && options.maxNewTokens >= 0, 'maxNewTokens must be a non-negative integer');
  const rng = mulberry32(options.seed ?? 0);
  const tokens = [...prompt];
  for (let i = 0; i < options.maxNewTokens; i++) {
    options.signal?.throwIfAborted();
    const next = await model.nextToken(tokens, { ...options, uniform: rng() });
    tokens.push(next.token);
    yield next;
    if (options.stopToken !== undefined && next.token === options.stopToken) return;
  }
}

/** Generates and collects the new tokens. */
export async function generate(model: LanguageModel, prompt: readonly number[], options: GenerateOptions): Promise<number[]> {
  const out: number[] = [];
  for await (const t of generateTokens(model, prompt, options)) out.push(t.token);
  return out;
}
