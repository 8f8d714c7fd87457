/**
 * The indirect retrieval model of paper §6.2 (Figure 9) and its trainer. The model reads c frozen embeddings —
 * position 0 a query's, positions 1 … c−1 candidate targets' (Algorithm 1, indirect-samples.ts) — mixes them
 * with one full c×c matrix per block (bidirectional: no causal mask, each candidate is seen next to all the
 * others and the query), transforms each position with a feed-forward, and scores each candidate with a d → 1
 * head. Softmax cross-entropy over the c − 1 candidate logits against the match position trains it.
 *
 * The query's position gets no logit: it is never the answer, and leaving it out is the same softmax as giving
 * it −∞, without a mask. Logit k scores position k + 1.
 *
 * Inputs are plain numbers copied into the model: no gradient reaches them or the language model that made them.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { z } from 'zod';

import { readWeights, requireDirectory, saveWeights } from '../checkpoint.js';
import { check, MaskmixError } from '../errors.js';
import { writeJsonAtomic } from '../io/atomic-file.js';
import { configError } from '../model-config.js';
import { native, type NativeRetrievalModel, type NativeRetrievalTrainer } from '../native.js';
import { checkEvalPrecision, type EvalPrecision } from '../precision.js';
import { Tensor } from '../tensor.js';
import { trainConfigSchema } from '../trainer.js';

export const RETRIEVAL_CONFIG_FILE = 'retrieval-mixer.json';
export const RETRIEVAL_WEIGHTS_FILE = 'retrieval-mixer.safetensors';

export const retrievalMixerConfigSchema = z
  .object({
    kind: z.literal('retrieval-mixer', { error: "kind must be 'retrieval-mixer'" }).default('retrieval-mixer'),
    /** Width of the embeddings it reads (the embedding model's dModel). */
    dModel: z.number().int().positive('dModel must be a positive integer'),
    nLayers: z.number().int().positive('nLayers must be a positive integer').default(4),
    /** c: embeddings per input, the query included (the paper: n = 32 … 1024). */
    context: z.number().int().min(2, 'context must be at least 2: the query and one candidate').default(32),
    ffMultiplier: z.number().int().positive().default(4),
    seed: z.number().int().nonnegative().default(0),
    device: z.string().default('cpu'),
    /** float64 for exact numerical checks. */
    dtype: z.enum(['float32', 'float64'], { error: "dtype must be 'float32' or 'float64'" }).default('float32'),
  })
  .strict();

export type RetrievalMixerConfig = z.output<typeof retrievalMixerConfigSchema>;
export type RetrievalMixerConfigInput = z.input<typeof retrievalMixerConfigSchema>;

/** Samples stacked for one forward (see `stackIndirectSamples`): inputs [batch, c, d] row-major, labels 1 … c−1. */
export interface IndirectBatch {
  inputs: Float32Array | Float64Array;
  labels: Int32Array;
  batch: number;
}

export class RetrievalMixer {
  /** @internal */
  constructor(readonly handle: NativeRetrievalModel) {}

  /** A model with fresh weights drawn from `config.seed`. @throws MaskmixError CONFIG_INVALID */
  static async create(config: RetrievalMixerConfigInput): Promise<RetrievalMixer> {
    const parsed = retrievalMixerConfigSchema.safeParse(config);
    if (!parsed.success) throw configError('retrieval model config', parsed.error);
    return new RetrievalMixer(await native().createRetrievalModel(parsed.data));
  }

  /**
   * Loads a model saved by {@link save} from `dir`. @throws MaskmixError NOT_FOUND for a directory without one,
   * CHECKPOINT_INVALID for a bad one.
   */
  static async load(dir: string, options: { device?: string } = {}): Promise<RetrievalMixer> {
    requireDirectory(dir);
    const path = join(dir, RETRIEVAL_CONFIG_FILE);
    if (!existsSync(path)) throw new MaskmixError('NOT_FOUND', `${dir} has no ${RETRIEVAL_CONFIG_FILE}: not an indirect retrieval model (make one with maskmix retrieval indirect-train)`);
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new MaskmixError('CHECKPOINT_INVALID', `${path} is not valid JSON: ${(error as Error).message}`);
    }
    const model = await RetrievalMixer.create({ ...(raw as RetrievalMixerConfigInput), device: options.device ?? 'cpu' });
    try {
      const tensors = await readWeights(join(dir, RETRIEVAL_WEIGHTS_FILE));
      try {
        model.loadStateDict(tensors);
      } finally {
        for (const t of Object.values(tensors)) t.dispose();
      }
    } catch (error) {
      model.dispose();
      throw error;
    }
    return model;
  }

  /** Writes `retrieval-mixer.json` and `retrieval-mixer.safetensors` into `dir` (which must exist), atomically. */
  async save(dir: string): Promise<void> {
    const { device: _device, ...config } = this.config;
    await writeJsonAtomic(join(dir, RETRIEVAL_CONFIG_FILE), config);
    await saveWeights(this, join(dir, RETRIEVAL_WEIGHTS_FILE));
  }

  get config(): RetrievalMixerConfig {
    return this.handle.config as RetrievalMixerConfig;
  }

  get numParameters(): number {
    return this.handle.numParameters;
  }

  /** Candidate logits [batch, c − 1] (the model's dtype): entry k scores position k + 1. */
  async logits(inputs: Float32Array | Float64Array, batch: number): Promise<Float32Array | Float64Array> {
    return this.handle.logits(inputs, batch);
  }

  /**
   * Summed cross-entropy and the number of samples whose highest logit is the match. 'fp32' turns off bf16
   * autocast on a GPU. @throws MaskmixError INVALID_ARGUMENT for any other precision (not run as 'auto').
   */
  async evaluate(batch: IndirectBatch, options: { precision?: EvalPrecision } = {}): Promise<{ lossSum: number; correct: number; samples: number }> {
    checkEvalPrecision(options.precision);
    return this.handle.evaluate(batch.inputs, batch.labels, batch.batch, options);
  }

  /**
   * The training loss of a batch and d loss / d parameter for every parameter, without an update. The inputs
   * are data, not parameters: `inputsRequireGrad` is false and no gradient names them.
   */
  async lossGradients(batch: IndirectBatch): Promise<{ loss: number; gradients: Record<string, Tensor>; inputsRequireGrad: boolean }> {
    const raw = await this.handle.lossGradients(batch.inputs, batch.labels, batch.batch);
    return { loss: raw.loss, inputsRequireGrad: raw.inputsRequireGrad, gradients: Object.fromEntries(Object.entries(raw.gradients).map(([k, t]) => [k, new Tensor(t)])) };
  }

  /** Views of the live parameters, by name (mixerblocks.i.…, retrieval_head.{weight,bias}). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(Object.entries(this.handle.stateDict()).map(([k, t]) => [k, new Tensor(t)]));
  }

  /** Strict load: the same names and shapes. @throws MaskmixError CHECKPOINT_INVALID */
  loadStateDict(tensors: Record<string, Tensor>): void {
    this.handle.loadStateDict(Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.handle])));
  }

  dispose(): void {
    this.handle.dispose();
  }
}

/**
 * AdamW and the learning-rate schedule of a language model's {@link trainConfigSchema}, for a RetrievalMixer. No
 * gradient accumulation and no CUDA-graph capture: a retrieval step is small (c embeddings per sample), so they are refused rather than ignored.
 */
const retrievalTrainConfigSchema = trainConfigSchema.omit({ gradientAccumulation: true, cudaGraph: true });
export type RetrievalTrainConfigInput = z.input<typeof retrievalTrainConfigSchema>;

export class RetrievalTrainer {
  private readonly handle: NativeRetrievalTrainer;

  constructor(readonly model: RetrievalMixer, config: RetrievalTrainConfigInput = {}) {
    const parsed = retrievalTrainConfigSchema.safeParse(config);
    if (!parsed.success) throw configError('training config', parsed.error);
    this.handle = new (native().RetrievalTrainer)(model.handle, { ...parsed.data, gradientAccumulation: 1 });
  }

  /**
   * One step: forward, cross-entropy over the candidates, backward, clipping, AdamW. Reads the loss back.
   * @throws MaskmixError NON_FINITE when the loss or gradient was not finite (the update was skipped).
   */
  async step(batch: IndirectBatch): Promise<{ step: number; learningRate: number; loss: number; gradNorm: number }> {
    check(batch.batch >= 1, 'a step needs at least one sample');
    return this.handle.step(batch.inputs, batch.labels, batch.batch);
  }

  learningRateAt(step: number): number {
    return this.handle.learningRateAt(step);
  }

  /**
   * The optimizer's state for a checkpoint, in the language-model {@link Trainer}'s format: AdamW's moments by
   * name (`exp_avg.<parameter>`, `exp_avg_sq.<parameter>`, views that share memory, in the model's dtype), each
   * parameter's own AdamW step count (`step.<parameter>`, float32: a skipped non-finite step leaves it behind) and
   * the steps taken, which also fixes the learning-rate schedule's position. `saveTrainingCheckpoint`
   * (lib/experiment/training-checkpoint.ts) writes it with the weights; `trainIndirectRetrieval` does so for you.
   */
  stateDict(): { step: number; tensors: Record<string, Tensor> } {
    const raw = this.handle.stateDict();
    return { step: raw.step, tensors: Object.fromEntries(Object.entries(raw.tensors).map(([k, t]) => [k, new Tensor(t)])) };
  }

  /**
   * Restores {@link stateDict}'s content (copied in, converted to the model's dtype and device). The step count
   * must be a non-negative integer. A state without `step.*` counts (an older checkpoint) sets each to the step.
   * @throws MaskmixError CHECKPOINT_INVALID, leaving the optimizer unchanged, for a state of another model (a
   * missing, extra or mis-shaped moment) or with some `step.*` counts missing or past the step.
   */
  loadStateDict(state: { step: number; tensors: Record<string, Tensor> }): void {
    check(Number.isInteger(state.step) && state.step >= 0, `the optimizer state's step must be a non-negative integer, got ${state.step}`, 'CHECKPOINT_INVALID');
    this.handle.loadStateDict({ step: state.step, tensors: Object.fromEntries(Object.entries(state.tensors).map(([k, t]) => [k, t.handle])) });
  }

  get stepsTaken(): number {
    return this.handle.stepsTaken;
  }

  dispose(): void {
    this.handle.dispose();
  }
}
