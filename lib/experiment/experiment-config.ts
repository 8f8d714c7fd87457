/**
 * An experiment as a JSON (or TypeScript) object: the model, how it is trained, on what data, for how long. The
 * schema validates every field and names the bad one with what it accepts; the resolved config (defaults filled)
 * is written into the run's run.json, and a resume checks it against the saved one.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { z } from 'zod';

import { MaskmixError } from '../errors.js';
import { configError } from '../model-config.js';
import { trainConfigSchema } from '../trainer.js';

const dataSchema = z
  .discriminatedUnion('source', [
    z.object({
      /** The embedded Brown corpus. */
      source: z.literal('brown'),
      /** Use only the first N of its 500 documents. */
      documents: z.number().int().min(2).optional(),
    }).strict(),
    z.object({
      /** Token shards made by `maskmix tokenize` (streamed, never loaded whole; the tokenizer is theirs). */
      source: z.literal('shards'),
      dir: z.string().min(1),
    }).strict(),
    z.object({
      /** Local .txt / .jsonl / .parquet files or folders of them. */
      source: z.literal('files'),
      paths: z.array(z.string().min(1)).min(1, 'paths must name at least one file or folder'),
      /** JSONL/Parquet field holding the text (default "text"). */
      field: z.string().optional(),
    }).strict(),
  ], { error: "data.source must be 'brown', 'files' or 'shards'" });

export const experimentConfigSchema = z
  .object({
    /** A short name for tables and reports (default: the run directory's name). */
    name: z.string().min(1).optional(),
    /**
     * The model. vocabSize and padId come from the tokenizer when left out; context is the training sequence
     * length. Every other field as in LanguageModel.create.
     */
    model: z.record(z.string(), z.unknown()).refine((m) => typeof m.context === 'number', { message: 'model.context must be a number' }),
    /** Optimizer and schedule (Trainer config), plus the loop's own settings. */
    training: trainConfigSchema.extend({
      steps: z.number().int().positive('training.steps must be a positive integer'),
      batchSize: z.number().int().positive('training.batchSize must be a positive integer'),
      evalEvery: z.number().int().positive().default(100),
      /** Validation sequences per periodic evaluation (the final one uses all). */
      evalSequences: z.number().int().positive().default(128),
      /** Save a resumable checkpoint every this many steps (and at the end, and on Ctrl-C). */
      checkpointEvery: z.number().int().positive().default(100),
      /** Read the loss back every this many steps (GPUs run ahead in between). */
      readEvery: z.number().int().positive().default(1),
    }),
    data: dataSchema.default({ source: 'brown' }),
    tokenizer: z
      .union([
        z.object({ vocabSize: z.number().int().min(258, 'tokenizer.vocabSize must be at least 258') }).strict(),
        z.object({ path: z.string().min(1) }).strict(),
      ], { error: 'tokenizer must be { vocabSize } (train one) or { path } (a tokenizer.json)' })
      .default({ vocabSize: 4096 }),
    /** Share of documents held out for validation. */
    valFraction: z.number().gt(0).lt(1).default(0.05),
    /** Seed of the split, the weights and the batch order. */
    seed: z.number().int().nonnegative().default(0),
    device: z.string().regex(/^(cpu|cuda(:\d+)?)$/, "device must be 'cpu', 'cuda' or 'cuda:N'").default('cpu'),
    /** Stop at whichever comes first of steps and this budget. */
    budget: z
      .object({ minutes: z.number().positive().optional(), flops: z.number().positive().optional() })
      .strict()
      .optional(),
  })
  .strict();

export type ExperimentConfig = z.output<typeof experimentConfigSchema>;
export type ExperimentConfigInput = z.input<typeof experimentConfigSchema>;

/** Validates an experiment config and fills its defaults. @throws MaskmixError CONFIG_INVALID naming each bad field */
export function resolveExperimentConfig(input: unknown): ExperimentConfig {
  const parsed = experimentConfigSchema.safeParse(input);
  if (!parsed.success) throw configError('experiment config', parsed.error);
  return parsed.data;
}

/** Reads and validates a JSON experiment config file. */
export function readExperimentConfig(path: string): ExperimentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new MaskmixError('NOT_FOUND', `experiment config ${path} does not exist`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new MaskmixError('CONFIG_INVALID', `${path} is not valid JSON: ${(error as Error).message}`);
  }
  return resolveExperimentConfig(raw);
}

/**
 * The config with its data and tokenizer paths made absolute (against the working directory), as run.json keeps
 * them: a resume from another directory must find the same files.
 */
export function withAbsolutePaths(config: ExperimentConfig): ExperimentConfig {
  const data = config.data;
  const absoluteData =
    data.source === 'files' ? { ...data, paths: data.paths.map((p) => resolve(p)) } : data.source === 'shards' ? { ...data, dir: resolve(data.dir) } : data;
  const tokenizer = 'path' in config.tokenizer ? { path: resolve(config.tokenizer.path) } : config.tokenizer;
  return { ...config, data: absoluteData, tokenizer };
}
