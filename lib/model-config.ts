/**
 * Model configurations: what a user writes (`ModelConfigInput`, most fields optional) and the complete form the
 * native layer receives (`ModelConfig`). Validation errors name the field and what it accepts.
 */
import { z } from 'zod';

import { MaskmixError } from './errors.js';

const positiveInt = (what: string) =>
  z.number({ error: `${what} must be a number` }).int(`${what} must be an integer`).positive(`${what} must be positive`);

export const modelConfigSchema = z
  .object({
    /** Architecture: 'mixer' is the flat masked mixer of SPEC §1. */
    kind: z.enum(['mixer'], { error: "kind must be 'mixer'" }).default('mixer'),
    /** Vocabulary size V: embedding rows and output logits. */
    vocabSize: positiveInt('vocabSize'),
    /** Model width d. */
    dModel: positiveInt('dModel'),
    /** Number of blocks L. */
    nLayers: positiveInt('nLayers'),
    /** Context n: the mixing matrices are n×n, so inputs hold at most n tokens. */
    context: positiveInt('context'),
    /** Feed-forward width as a multiple of dModel. */
    ffMultiplier: positiveInt('ffMultiplier').default(4),
    /** Token id ignored as a training target (the end-of-text token, which also pads). */
    padId: z.number().int('padId must be an integer').nonnegative('padId must be ≥ 0').default(0),
    /** Seed of the initial weights. */
    seed: z.number().int('seed must be an integer').nonnegative('seed must be ≥ 0').default(0),
    /** 'cpu', 'cuda' or 'cuda:N'. */
    device: z
      .string()
      .regex(/^(cpu|cuda(:\d+)?)$/, "device must be 'cpu', 'cuda' or 'cuda:N'")
      .default('cpu'),
  })
  .strict()
  .refine((c) => c.padId < c.vocabSize, { message: 'padId must be smaller than vocabSize', path: ['padId'] });

/** A complete model configuration. */
export type ModelConfig = z.output<typeof modelConfigSchema>;
/** What a caller may pass: required sizes, optional everything else. */
export type ModelConfigInput = z.input<typeof modelConfigSchema>;

/** Turns a zod failure into one CONFIG_INVALID error naming every bad field. */
export function configError(what: string, error: z.ZodError): MaskmixError {
  const lines = error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  return new MaskmixError('CONFIG_INVALID', `invalid ${what}:\n${lines.join('\n')}`);
}

/** Validates a model configuration and fills its defaults. @throws MaskmixError CONFIG_INVALID */
export function resolveModelConfig(input: unknown): ModelConfig {
  const parsed = modelConfigSchema.safeParse(input);
  if (!parsed.success) throw configError('model config', parsed.error);
  return parsed.data;
}
