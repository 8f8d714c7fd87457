/**
 * A model set: named model configs as data (JSON), so a new architecture joins the synthetic suite and the
 * language-model comparison by adding an entry, not code. Sizes that belong to the task or the data — vocabSize,
 * context, padId — are left out and filled in by whoever runs the set.
 *
 *   { "description": "…", "models": [ { "name": "mixer", "model": { "kind": "mixer", "dModel": 64, "nLayers": 2 },
 *                                       "training": { "learningRate": 0.002 } }, … ] }
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { z } from 'zod';

import { MaskmixError } from '../errors.js';
import { configError, resolveModelConfig, type ModelConfig } from '../model-config.js';
import { packageRoot } from '../native.js';
import { trainConfigSchema } from '../trainer.js';

const FILLED_BY_RUNNER = ['vocabSize', 'context', 'padId'] as const;

const trainingFields = trainConfigSchema.omit({ gradientAccumulation: true }).shape;
type TrainingFields = typeof trainingFields;

/**
 * The training fields an entry may set, each optional and without its default. zod's `partial()` keeps defaults,
 * so a parsed entry would carry every field (warmupSteps 0, totalSteps 0 = a constant rate, …) and override the
 * synthetic runner's warm-up and decay and a base config's settings with values the entry never wrote.
 */
const trainingOverridesSchema = z
  .object(
    Object.fromEntries(
      Object.entries(trainingFields).map(([key, field]) => [key, (field instanceof z.ZodDefault ? field.unwrap() : field).optional()]),
    ) as { [K in keyof TrainingFields]: z.ZodOptional<TrainingFields[K] extends z.ZodDefault<infer T> ? T : TrainingFields[K]> },
  )
  .strict();

const modelEntrySchema = z
  .object({
    /** Row label in tables; also the run folder's name. */
    name: z.string().min(1).regex(/^[\w.=,+-]+$/, 'name may hold letters, digits and . = , + - _ only'),
    /** Any model config without vocabSize, context and padId. */
    model: z.record(z.string(), z.unknown()),
    /**
     * Optimizer settings for this model (learning rate, warm-up, …); steps come from the runner. No gradient
     * accumulation: the suite's batch is the runner's `--batch` for every model, so that accuracies compare.
     */
    training: trainingOverridesSchema.optional(),
  })
  .strict();

export const modelSetSchema = z
  .object({
    description: z.string().optional(),
    models: z.array(modelEntrySchema).min(1, 'models must hold at least one entry'),
  })
  .strict();

export type ModelSet = z.output<typeof modelSetSchema>;
export type ModelSetEntry = ModelSet['models'][number];

/** The entry's model config completed with the sizes of a task or a corpus. */
export function completeModelConfig(entry: ModelSetEntry, sizes: { vocabSize: number; context: number; padId: number; seed?: number; device?: string }): ModelConfig {
  return resolveModelConfig({ seed: sizes.seed ?? 0, device: sizes.device ?? 'cpu', ...entry.model, vocabSize: sizes.vocabSize, context: sizes.context, padId: sizes.padId });
}

/**
 * Validates a model set: the shape, unique names, no runner-owned sizes, and each model config (checked with
 * placeholder sizes, so an unknown kind or a bad field fails before any training).
 * @throws MaskmixError CONFIG_INVALID naming the entry and field
 */
export function resolveModelSet(input: unknown, source = 'model set'): ModelSet {
  const parsed = modelSetSchema.safeParse(input);
  if (!parsed.success) throw configError(source, parsed.error);
  const set = parsed.data;
  const seen = new Set<string>();
  for (const entry of set.models) {
    if (seen.has(entry.name)) throw new MaskmixError('CONFIG_INVALID', `${source}: two models are named '${entry.name}'`);
    seen.add(entry.name);
    const owned = FILLED_BY_RUNNER.filter((key) => key in entry.model);
    if (owned.length > 0) throw new MaskmixError('CONFIG_INVALID', `${source}: model '${entry.name}' sets ${owned.join(', ')}; leave them out, the task or corpus decides them`);
    try {
      completeModelConfig(entry, { vocabSize: 64, context: 64, padId: 0 });
    } catch (error) {
      throw new MaskmixError('CONFIG_INVALID', `${source}: model '${entry.name}': ${(error as Error).message}`);
    }
  }
  return set;
}

/** Reads and validates a model-set JSON file. */
export function readModelSet(path: string): ModelSet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new MaskmixError('NOT_FOUND', `model set ${path} does not exist`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new MaskmixError('CONFIG_INVALID', `${path} is not valid JSON: ${(error as Error).message}`);
  }
  return resolveModelSet(raw, path);
}

/** Folder of the named model sets shipped with maskmix (`--set <name>` reads `<name>.json` there). */
export function modelSetsDir(): string {
  return join(packageRoot(), 'examples', 'synthetic');
}

/** A shipped model set by name. @throws MaskmixError NOT_FOUND listing the names there are */
export function namedModelSet(name: string): ModelSet {
  const path = join(modelSetsDir(), `${name}.json`);
  if (!/^[\w-]+$/.test(name) || !existsSync(path)) {
    throw new MaskmixError('NOT_FOUND', `no model set named '${name}' in ${modelSetsDir()}; pass a file with --models instead`);
  }
  return readModelSet(path);
}

/** Keeps the entries named in `names` (all when undefined). @throws MaskmixError INVALID_ARGUMENT for a name not in the set */
export function selectModels(set: ModelSet, names: string[] | undefined): ModelSet {
  if (!names) return set;
  const known = new Set(set.models.map((m) => m.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) throw new MaskmixError('INVALID_ARGUMENT', `the model set has no ${unknown.join(', ')}; it has ${[...known].join(', ')}`);
  return { ...set, models: set.models.filter((m) => names.includes(m.name)) };
}
