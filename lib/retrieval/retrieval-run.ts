/**
 * Retrieval with a trained language model, end to end: embed pairs and measure top-1@n (Table 1), and fine-tune
 * the model with InfoNCE over cosine similarity (paper §6.3). `maskmix retrieval eval|train` are thin CLIs over
 * these functions.
 */
import { check } from '../errors.js';
import type { LanguageModel, TokenBatch } from '../model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { Trainer } from '../trainer.js';
import { contrastiveBatches, type TokenizedPair } from './contrastive-batches.js';
import { resumableSteps, type RetrievalCheckpointOptions } from './resumable-steps.js';
import { embed, type EmbeddingToken } from './embed.js';
import type { RetrievalPair } from './pairs.js';
import { embeddingTopOne, TABLE_SIZES, type TopOneResult } from './top-one.js';

export interface RetrievalEvalOptions {
  sizes?: readonly number[];
  token?: EmbeddingToken;
  /** Tokens per sequence (cut, then left-padded); default the model's context. */
  length?: number;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Top-1 accuracy at each n over `pairs` (query i matches passage i). */
export async function evaluateRetrieval(
  model: LanguageModel,
  tokenizer: Tokenizer,
  pairs: readonly RetrievalPair[],
  options: RetrievalEvalOptions = {},
): Promise<TopOneResult[]> {
  check(pairs.length >= 2, `retrieval evaluation needs at least 2 pairs, got ${pairs.length}`);
  const common = { tokenizer, token: options.token, length: options.length, batchSize: options.batchSize };
  const total = 2 * pairs.length;
  const queries = await embed(model, pairs.map((p) => p.query), { ...common, onProgress: (d) => options.onProgress?.(d, total) });
  const passages = await embed(model, pairs.map((p) => p.passage), { ...common, onProgress: (d) => options.onProgress?.(pairs.length + d, total) });
  return embeddingTopOne(queries, passages, options.sizes ?? TABLE_SIZES);
}

export interface RetrievalTrainOptions {
  steps: number;
  /** InfoNCE samples per step (each `group` sequences); default 4, the paper's one sample per GPU on 4 GPUs. */
  samples?: number;
  group?: number;
  temperature?: number;
  token?: EmbeddingToken;
  /** Peak learning rate, decayed linearly to 0 (paper: 1e-4). */
  learningRate?: number;
  length?: number;
  seed?: number;
  onStep?: (step: number, loss: number) => void;
  /**
   * Resumable checkpoints in `checkpoint.dir` (every `checkpoint.every` steps, after the last and when stopped), or
   * with `checkpoint.resume` a continuation of a stopped run from there: the model's weights, AdamW's moments, the
   * schedule and the batch order are restored, so the run goes on as if it had never stopped.
   */
  checkpoint?: RetrievalCheckpointOptions;
  /** Once aborted, training stops after the current step (a checkpoint is written first, if kept). */
  signal?: AbortSignal;
}

/**
 * Fine-tunes `model` in place with InfoNCE on `pairs`; returns the loss of each step (a resumed run's earlier
 * steps included; fewer than `steps` when stopped by `signal`).
 */
export async function fineTuneRetrieval(
  model: LanguageModel,
  tokenizer: Tokenizer,
  pairs: readonly RetrievalPair[],
  options: RetrievalTrainOptions,
): Promise<number[]> {
  check(Number.isInteger(options.steps) && options.steps >= 1, `steps must be a positive integer, got ${options.steps}`);
  const group = options.group ?? 32;
  const [queries, passages] = await Promise.all([tokenizer.encodeBatch(pairs.map((p) => p.query)), tokenizer.encodeBatch(pairs.map((p) => p.passage))]);
  const tokenized: TokenizedPair[] = queries.map((q, i) => ({ query: q, passage: passages[i] }));
  const batches = (start: number) =>
    contrastiveBatches(tokenized, {
      samples: options.samples ?? 4,
      group,
      length: options.length ?? model.config.context,
      padId: model.config.padId,
      seed: options.seed,
      start,
    });
  const trainer = new Trainer(model, {
    learningRate: options.learningRate ?? 1e-4,
    totalSteps: options.steps,
    objective: 'infonce',
    infoNceGroup: group,
    infoNceTemperature: options.temperature ?? 0.02,
    embeddingToken: options.token ?? 'second-to-last',
  });
  try {
    return await resumableSteps({
      model,
      trainer,
      steps: options.steps,
      batches,
      step: async (batch: TokenBatch) => (await trainer.step(batch)).lastLoss!,
      onStep: options.onStep,
      checkpoint: options.checkpoint,
      signal: options.signal,
    });
  } finally {
    trainer.dispose();
  }
}
