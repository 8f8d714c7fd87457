/**
 * `Trainer`: AdamW and a linear warm-up/decay schedule for one model. `step` runs a whole training step —
 * forward, next-token loss, backward, gradient clipping, update — as one native call.
 */
import { z } from 'zod';

import { configError } from './model-config.js';
import type { LanguageModel, TokenBatch } from './model.js';
import { native, type NativeTrainer } from './native.js';

export const trainConfigSchema = z
  .object({
    /** Peak learning rate (paper: 5e-4 for mixers). */
    learningRate: z.number().positive('learningRate must be positive').default(5e-4),
    /** Steps of linear warm-up from 0 to learningRate. */
    warmupSteps: z.number().int().nonnegative().default(0),
    /** Step at which linear decay reaches minLrRatio·learningRate (0: no decay). */
    totalSteps: z.number().int().nonnegative().default(0),
    minLrRatio: z.number().min(0).max(1).default(0),
    weightDecay: z.number().min(0).default(0),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    epsilon: z.number().positive().default(1e-8),
    /** Clip the global gradient L2 norm to this (0: no clipping). */
    gradClip: z.number().min(0).default(1),
    /** 'auto': bf16 autocast with float32 master weights on CUDA, float32 on the CPU. */
    precision: z.enum(['auto', 'bf16', 'fp32'], { error: "precision must be 'auto', 'bf16' or 'fp32'" }).default('auto'),
  })
  .strict();

export type TrainConfig = z.output<typeof trainConfigSchema>;
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

/** What one step did. Loss values are present when the step read them back (always on the CPU). */
export interface StepResult {
  /** Steps taken so far, this one included. */
  step: number;
  learningRate: number;
  /** Mean loss over the steps since the previous read-back, this one included. */
  loss?: number;
  /** This step's loss. */
  lastLoss?: number;
  /** This step's global gradient norm before clipping. */
  gradNorm?: number;
  /** How many steps `loss` averages. */
  stepsInMean?: number;
  /** Device time of each of those steps (CUDA events on a GPU, host clock on the CPU). */
  deviceMilliseconds?: number[];
}

export class Trainer {
  private readonly handle: NativeTrainer;
  readonly config: TrainConfig;

  constructor(readonly model: LanguageModel, config: TrainConfigInput = {}) {
    const parsed = trainConfigSchema.safeParse(config);
    if (!parsed.success) throw configError('training config', parsed.error);
    this.config = parsed.data;
    this.handle = new (native().Trainer)(model.handle, this.config);
  }

  /**
   * One optimisation step on a batch. With `readBack: false` a GPU runs ahead without waiting for the loss; a
   * later step that reads back reports the mean over the steps in between.
   * @throws MaskmixError NON_FINITE when a step read back (or, on the CPU, this step) had a non-finite loss or
   *   gradient; those updates were skipped.
   */
  async step(batch: TokenBatch, options: { readBack?: boolean } = {}): Promise<StepResult> {
    return this.handle.step(batch.tokens, batch.batch, options);
  }

  /**
   * Runs `steps` training steps on `batch` under libtorch's profiler and writes a Chrome trace (chrome://tracing,
   * Perfetto) to `path`. CUDA builds only. The steps are real: they update the model.
   */
  async profile(batch: TokenBatch, steps: number, path: string): Promise<void> {
    return this.handle.profile(batch.tokens, batch.batch, steps, path);
  }

  /** Learning rate the schedule gives the step with this 0-based index. */
  learningRateAt(step: number): number {
    return this.handle.learningRateAt(step);
  }

  get stepsTaken(): number {
    return this.handle.stepsTaken;
  }

  dispose(): void {
    this.handle.dispose();
  }
}
