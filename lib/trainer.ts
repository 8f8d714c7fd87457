/**
 * `Trainer`: AdamW and a linear warm-up/decay schedule for one model. `step` runs a whole training step —
 * forward, next-token loss, backward, gradient clipping, update — as one native call.
 */
import { z } from 'zod';

import { enterCollective } from './dist/collective-progress.js';
import type { ProcessGroup } from './dist/process-group.js';
import { check } from './errors.js';
import { configError } from './model-config.js';
import type { LanguageModel, TokenBatch } from './model.js';
import { native, type NativeTrainer } from './native.js';
import { Tensor } from './tensor.js';

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
    /**
     * Gradient accumulation: micro-batches per optimizer step. A step's batch then holds k equal micro-batches
     * (rows divisible by k), each run forward and backward alone (activation memory of one micro-batch), with one
     * update as if on the whole batch; data-parallel all-reduce runs only in the last micro-batch's backward.
     */
    gradientAccumulation: z
      .number({ error: 'gradientAccumulation must be a positive integer' })
      .int('gradientAccumulation must be a positive integer')
      .min(1, 'gradientAccumulation must be a positive integer (1: no accumulation)')
      .default(1),
    /**
     * Capture the whole step (forward, loss, backward, clipping, AdamW) as one CUDA graph after a warm-up step,
     * and replay it for every later batch of the same shape: one launch per step instead of hundreds. A batch of
     * another shape captures again. CUDA models of kind 'mixer', 'llama', 'repeat' or 'autoencoder' only, with
     * gradientAccumulation 1, the next-token objective and no data parallelism; the graph holds its activations'
     * memory between steps. If a capture fails, that step (already taken) rejects with the reason and the trainer
     * goes on step by step.
     */
    cudaGraph: z.boolean().default(false),
  })
  .strict();

/**
 * The training objective, a {@link Trainer} option beside {@link trainConfigSchema} (experiment configs train
 * language models only).
 */
export const trainObjectiveSchema = z
  .object({
    /**
     * 'next-token': language modelling. 'infonce': retrieval fine-tuning (paper §6.3); each batch is samples of
     * `infoNceGroup` left-padded sequences — query, match, negatives — see lib/retrieval/.
     */
    objective: z.enum(['next-token', 'infonce'], { error: "objective must be 'next-token' or 'infonce'" }).default('next-token'),
    /** Sequences per InfoNCE sample: 1 query + 1 match + negatives (paper: 32). */
    infoNceGroup: z.number().int().min(2, 'infoNceGroup must be at least 2').default(32),
    /** InfoNCE temperature τ over cosine similarities (paper: 0.02). */
    infoNceTemperature: z.number().positive('infoNceTemperature must be positive').default(0.02),
    /** Which token's final hidden state embeds a sequence (paper: the second-to-last). */
    embeddingToken: z.enum(['last', 'second-to-last'], { error: "embeddingToken must be 'last' or 'second-to-last'" }).default('second-to-last'),
  })
  .strict();

const trainerConfigSchema = trainConfigSchema.extend(trainObjectiveSchema.shape);

export type TrainConfig = z.output<typeof trainerConfigSchema>;
export type TrainConfigInput = z.input<typeof trainerConfigSchema>;

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

/** Data-parallel options of a {@link Trainer}. */
export interface DataParallelOptions {
  /**
   * Train data-parallel over this group (see `initDistributed`): every step averages the gradients of all its
   * processes between backward and clipping, all-reducing them in buckets while backward still runs. The first
   * step copies rank 0's weights to every process.
   */
  processGroup?: ProcessGroup;
  /** Size of a gradient bucket in bytes (default 25 MB). */
  bucketBytes?: number;
}

export class Trainer {
  private readonly handle: NativeTrainer;
  readonly config: TrainConfig;
  private group: ProcessGroup | undefined;
  private buckets = 0;

  constructor(readonly model: LanguageModel, config: TrainConfigInput = {}, options: DataParallelOptions = {}) {
    const parsed = trainerConfigSchema.safeParse(config);
    if (!parsed.success) throw configError('training config', parsed.error);
    this.config = parsed.data;
    this.handle = new (native().Trainer)(model.handle, this.config);
    if (options.processGroup) this.setProcessGroup(options.processGroup, options);
  }

  /**
   * Turns data-parallel training on over `group`, or off with undefined. Call it between steps.
   * @throws MaskmixError BUSY while a step runs; INVALID_ARGUMENT when the model lives on another device than the
   *   group's.
   */
  setProcessGroup(group: ProcessGroup | undefined, options: { bucketBytes?: number } = {}): void {
    check(options.bucketBytes === undefined || (Number.isInteger(options.bucketBytes) && options.bucketBytes > 0), 'bucketBytes must be a positive integer');
    this.buckets = this.handle.setProcessGroup(group?.handle ?? null, { bucketBytes: options.bucketBytes });
    this.group = group;
  }

  /** The group gradients are averaged over, if training is data-parallel. */
  get processGroup(): ProcessGroup | undefined {
    return this.group;
  }

  /** How many buckets the gradients are all-reduced in (0 without a process group). */
  get gradientBuckets(): number {
    return this.buckets;
  }

  /**
   * Bucket all-reduces started so far by the current process group's gradient sync (0 without one): with
   * gradient accumulation it grows by {@link gradientBuckets} per optimizer step, not per micro-batch.
   */
  get gradientBucketLaunches(): number {
    return this.handle.gradientBucketLaunches;
  }

  /**
   * One optimisation step on a batch. With `readBack: false` a GPU runs ahead without waiting for the loss; a
   * later step that reads back reports the mean over the steps in between.
   * `targetMask` (one entry per token of the batch) scores only the tokens where it is nonzero: the loss is the
   * mean over those targets (token j is the target of position j−1, so entry 0 of each row is never used).
   * Synthetic tasks use it to train on answer tokens only.
   * With `gradientAccumulation` k the batch holds k micro-batches of batch.batch / k rows (in row order), and the
   * step's loss and gradient are those of the whole batch: each micro-batch is weighted by its share of the
   * batch's targets (see native/train/gradient_accumulation.h). {@link stepMicroBatches} takes them as a list.
   * @throws MaskmixError NON_FINITE when a step read back (or, on the CPU, this step) had a non-finite loss or
   *   gradient; those updates were skipped.
   */
  async step(batch: TokenBatch, options: { readBack?: boolean; targetMask?: ArrayLike<number | boolean> } = {}): Promise<StepResult> {
    const { targetMask, ...rest } = options;
    if (targetMask !== undefined) {
      check(targetMask.length === batch.tokens.length, `targetMask must have one entry per token (${batch.tokens.length}), got ${targetMask.length}`);
    }
    // A data-parallel step all-reduces gradients (and broadcasts weights on the first step).
    if (this.group) enterCollective('training step');
    if (targetMask === undefined) return this.handle.step(batch.tokens, batch.batch, rest);
    // Unscored targets become the pad id, which the native loss already ignores.
    const padId = this.model.config.padId;
    const targets = batch.tokens.map((token, i) => (targetMask[i] ? token : padId));
    return this.handle.step(batch.tokens, batch.batch, { ...rest, targets });
  }

  /**
   * One optimisation step over k = `gradientAccumulation` micro-batches of equal shape, as one native call: the
   * same as {@link step} on their rows stacked in order. `targetMasks`, when given, has one mask per micro-batch.
   */
  async stepMicroBatches(
    microBatches: readonly TokenBatch[],
    options: { readBack?: boolean; targetMasks?: readonly ArrayLike<number | boolean>[] } = {},
  ): Promise<StepResult> {
    const k = this.config.gradientAccumulation;
    check(microBatches.length === k, `gradientAccumulation is ${k}: a step takes ${k} micro-batches, got ${microBatches.length}`);
    const first = microBatches[0]!;
    check(
      microBatches.every((b) => b.batch === first.batch && b.tokens.length === first.tokens.length),
      'the micro-batches of a step must all have the same number of rows and tokens',
    );
    check(options.targetMasks === undefined || options.targetMasks.length === k, `targetMasks must hold one mask per micro-batch (${k})`);
    const tokens = stackRows(microBatches.map((b) => b.tokens));
    const { targetMasks, ...rest } = options;
    const targetMask = targetMasks ? stackRows(targetMasks.map((m) => Int32Array.from(m, Number))) : undefined;
    return this.step({ tokens, batch: first.batch * k }, { ...rest, targetMask });
  }

  /**
   * Runs `steps` training steps on `batch` under libtorch's profiler and writes a Chrome trace (chrome://tracing,
   * Perfetto) to `path`. CUDA builds only. The steps are real: they update the model.
   */
  async profile(batch: TokenBatch, steps: number, path: string): Promise<void> {
    return this.handle.profile(batch.tokens, batch.batch, steps, path);
  }

  /**
   * The optimizer's state for a checkpoint: AdamW's moments by name (`exp_avg.<parameter>`,
   * `exp_avg_sq.<parameter>`, views that share memory), each parameter's own AdamW step count (`step.<parameter>`,
   * float32; a skipped non-finite step leaves it behind) and the steps taken, which also fixes the learning-rate
   * schedule's position. A state without `step.*` counts (an older checkpoint) loads with each count set to the step.
   */
  stateDict(): { step: number; tensors: Record<string, Tensor> } {
    const raw = this.handle.stateDict();
    return { step: raw.step, tensors: Object.fromEntries(Object.entries(raw.tensors).map(([k, t]) => [k, new Tensor(t)])) };
  }

  /** Restores {@link stateDict}'s content. @throws MaskmixError CHECKPOINT_INVALID for missing or mis-shaped moments. */
  loadStateDict(state: { step: number; tensors: Record<string, Tensor> }): void {
    this.handle.loadStateDict({ step: state.step, tensors: Object.fromEntries(Object.entries(state.tensors).map(([k, t]) => [k, t.handle])) });
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

/** Rows of equal-shaped token arrays, one after another. */
function stackRows(parts: readonly Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
