/**
 * The bridge from a model set (lib/synthetic/model-set.ts) to `compare`: one experiment per model, all sharing a
 * base experiment's data, tokenizer, split, context, seed and training loop, so the same set that runs the
 * synthetic suite is also compared on language modelling at equal compute (`compare`'s budget).
 */
import type { ModelSet } from '../synthetic/model-set.js';
import type { ExperimentConfigInput } from './experiment-config.js';

/**
 * Each model of `set` as an experiment: the base with the entry's name and model (the base's model.context kept;
 * vocabSize and padId come from the tokenizer), and the entry's training settings over the base's.
 */
export function modelSetExperiments(set: ModelSet, base: ExperimentConfigInput): ExperimentConfigInput[] {
  return set.models.map((entry) => ({
    ...base,
    name: entry.name,
    model: { ...entry.model, context: base.model.context },
    training: { ...base.training, ...entry.training },
  }));
}
