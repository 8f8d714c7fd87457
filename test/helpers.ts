/** Shared test helpers: seeded data and small models. */
import { mulberry32 } from '../lib/data/random.js';
import { LanguageModel } from '../lib/model.js';
import type { ModelConfigInput } from '../lib/model-config.js';
import { Tensor } from '../lib/tensor.js';

export function randomFloat64(length: number, seed: number, scale = 1): Float64Array {
  const rng = mulberry32(seed);
  return Float64Array.from({ length }, () => (rng() * 2 - 1) * scale);
}

export function randomTokens(length: number, vocab: number, seed: number): Int32Array {
  const rng = mulberry32(seed);
  return Int32Array.from({ length }, () => Math.floor(rng() * vocab));
}

export const TINY: ModelConfigInput = { vocabSize: 50, dModel: 16, nLayers: 2, context: 12, seed: 3 };

export function tinyModel(overrides: Partial<ModelConfigInput> = {}): Promise<LanguageModel> {
  return LanguageModel.create({ ...TINY, ...overrides } as ModelConfigInput);
}

/** max |a − b| over the largest |b|: the error of a against b relative to b's scale. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / Math.max(scale, 1e-30);
}

/**
 * Moves a repeat mixer's decays inside (0.9, 1) and gives its biases values, so tests exercise the decay and the
 * bias (fresh models start at δ = 1, β = 0).
 */
export function randomizeRepeatWeights(model: LanguageModel, seed: number): void {
  const rng = mulberry32(seed);
  const state = model.stateDict();
  const updated: Record<string, Tensor> = {};
  for (const [name, tensor] of Object.entries(state)) {
    const values = tensor.toTypedArray() as Float32Array | Float64Array;
    if (name.endsWith('mix.decay')) values.forEach((_, i) => (values[i] = 0.905 + 0.09 * rng()));
    else if (name.endsWith('mix.bias')) values.forEach((_, i) => (values[i] = (rng() * 2 - 1) * 0.3));
    else continue;
    updated[name] = Tensor.from(values, tensor.shape);
  }
  model.loadStateDict({ ...state, ...updated });
}
