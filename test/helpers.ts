/** Shared test helpers: seeded data and small models. */
import { mulberry32 } from '../lib/data/random.js';
import { LanguageModel } from '../lib/model.js';
import type { ModelConfigInput } from '../lib/model-config.js';

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
