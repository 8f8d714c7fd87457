/**
 * Input representation (SPEC §4, paper §3.1): can a model's hidden layer be inverted back to its input? Gradient
 * descent on random input embeddings (N(1/2, 1/20²)) until the hidden state at `layer` matches the one the true
 * tokens produce (L1, learning rate decaying linearly from η to η/10), then the pseudo-inverse of the embedding
 * table maps the embeddings back to tokens. Scored by the normalised Hamming distance to the true tokens, pad
 * positions ignored: 0 = recovered exactly. One native async call; works for every model kind.
 */
import { check } from './errors.js';
import type { LanguageModel } from './model.js';
import { tokenIds } from './token-ids.js';

export interface InversionOptions {
  /** Match the hidden state after this many blocks (1 … nLayers; default nLayers, the last hidden layer). */
  layer?: number;
  /** Gradient-descent iterations N (default 500, the paper's). */
  iterations?: number;
  /** Initial learning rate η (default 1) of the descent on the L1 distance per token (summed over features). */
  learningRate?: number;
  /** Seed of the random initial embeddings (default 0). */
  seed?: number;
}

export interface InversionResult {
  /** Recovered tokens, one row per sequence ([batch, t] row-major). */
  tokens: Int32Array;
  /** Fraction of non-pad positions whose recovered token differs from the input's. */
  hamming: number;
  /** ||O_l(e) − O_l(e_true)||₁ per token at the random start and after the last iteration. */
  initialLoss: number;
  loss: number;
  layer: number;
  iterations: number;
  learningRate: number;
}

export const INVERSION_DEFAULTS = { iterations: 500, learningRate: 1, seed: 0 } as const;

/**
 * Inverts the hidden state `tokens` produce at one layer. `tokens` holds `batch` sequences of equal length
 * (≤ the model's context). The model's weights and gradients are left as they were.
 * @throws MaskmixError INVALID_ARGUMENT for a layer out of range or a non-positive rate; SHAPE_MISMATCH for too long input
 */
export async function invertInput(
  model: LanguageModel,
  tokens: Int32Array | readonly number[],
  options: InversionOptions & { batch?: number } = {},
): Promise<InversionResult> {
  const batch = options.batch ?? 1;
  const input = tokenIds(tokens);
  check(input.length > 0 && input.length % batch === 0, 'tokens must hold batch sequences of equal, non-zero length');
  const layer = options.layer ?? model.config.nLayers;
  const iterations = options.iterations ?? INVERSION_DEFAULTS.iterations;
  const learningRate = options.learningRate ?? INVERSION_DEFAULTS.learningRate;
  const r = await model.handle.invert(input, batch, { layer, iterations, learningRate, seed: options.seed ?? INVERSION_DEFAULTS.seed });
  return { ...r, layer, iterations, learningRate };
}
