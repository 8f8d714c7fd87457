/**
 * Indirect retrieval (paper §6.2) end to end over precomputed embeddings: train a {@link RetrievalMixer} on
 * Algorithm 1's samples of training pairs, and measure its cross-entropy and top-1 accuracy on held-out pairs.
 * `maskmix retrieval indirect-train|indirect-eval` are thin CLIs over these functions and `embed`.
 */
import { mulberry32 } from '../data/random.js';
import { check } from '../errors.js';
import { checkEvalPrecision } from '../precision.js';
import { indirectRetrievalSamples, stackIndirectSamples, type IndirectSample } from './indirect-samples.js';
import { resumableSteps, type RetrievalCheckpointOptions } from './resumable-steps.js';
import { RetrievalTrainer, type IndirectBatch, type RetrievalMixer, type RetrievalTrainConfigInput } from './retrieval-mixer.js';
import type { Embeddings } from './top-one.js';

/** Query/target embeddings of paired texts: query i matches target i. */
export interface EmbeddedPairs {
  queries: Embeddings;
  targets: Embeddings;
}

export interface IndirectEvalResult {
  /** c: embeddings per retrieval (the query and c − 1 candidates). */
  context: number;
  samples: number;
  /** Mean cross-entropy over the samples (nats). */
  loss: number;
  /** Fraction of samples whose highest logit is the match. */
  top1: number;
  /** What a model that knows nothing scores: ln(c − 1) and 1 / (c − 1). */
  chanceLoss: number;
  chanceTop1: number;
}

export interface IndirectEvalOptions {
  /** Seed of Algorithm 1's draws (default 0: the same samples every time). */
  seed?: number;
  /** Passes of Algorithm 1 over the pairs, each with fresh draws (default 1: one sample per pair). */
  rounds?: number;
  /** Samples per forward pass (default 64). */
  batchSize?: number;
  precision?: 'auto' | 'fp32';
}

function checkPairs(pairs: EmbeddedPairs, model: RetrievalMixer): void {
  const { queries, targets } = pairs;
  check(queries.count === targets.count && queries.dim === targets.dim, `queries (${queries.count} × ${queries.dim}) and targets (${targets.count} × ${targets.dim}) must be paired`);
  check(queries.dim === model.config.dModel, `the embeddings are ${queries.dim} wide but the retrieval model reads ${model.config.dModel}`);
  const c = model.config.context;
  check(queries.count >= c, `a retrieval of c = ${c} embeddings draws ${c - 1} distinct targets: it needs at least ${c} pairs, got ${queries.count}`);
}

/** Batches of `size` samples from a sample stream (the last one may be smaller). */
function* batchesOf(samples: Iterable<IndirectSample>, size: number, dim: number): Generator<IndirectBatch> {
  let pending: IndirectSample[] = [];
  for (const s of samples) {
    pending.push(s);
    if (pending.length === size) {
      yield stackIndirectSamples(pending, dim);
      pending = [];
    }
  }
  if (pending.length > 0) yield stackIndirectSamples(pending, dim);
}

/** Cross-entropy and top-1 of `model` on Algorithm 1's samples of `pairs` (one per pair and round). */
export async function evaluateIndirectRetrieval(model: RetrievalMixer, pairs: EmbeddedPairs, options: IndirectEvalOptions = {}): Promise<IndirectEvalResult> {
  checkPairs(pairs, model);
  const rounds = options.rounds ?? 1;
  const batchSize = options.batchSize ?? 64;
  check(Number.isInteger(rounds) && rounds >= 1, `rounds must be a positive integer, got ${rounds}`);
  check(Number.isInteger(batchSize) && batchSize >= 1, `batchSize must be a positive integer, got ${batchSize}`);
  // Refused before any batch is drawn, so a typo such as 'bf16' fails at once rather than after sampling.
  checkEvalPrecision(options.precision);
  const context = model.config.context;
  let lossSum = 0;
  let correct = 0;
  let samples = 0;
  for (let round = 0; round < rounds; round++) {
    const stream = indirectRetrievalSamples(pairs.queries, pairs.targets, { context, seed: (options.seed ?? 0) + round });
    for (const batch of batchesOf(stream, batchSize, pairs.queries.dim)) {
      const r = await model.evaluate(batch, { precision: options.precision });
      lossSum += r.lossSum;
      correct += r.correct;
      samples += r.samples;
    }
  }
  return { context, samples, loss: lossSum / samples, top1: correct / samples, chanceLoss: Math.log(context - 1), chanceTop1: 1 / (context - 1) };
}

/**
 * Algorithm 1 forever: each epoch visits the pairs in a fresh seeded order (so a batch is not a run of
 * neighbouring passages) and draws each one's candidates anew. `start` samples are passed over first (a resumed
 * run's position): whole epochs at no cost, as each has its own seed, and the rest drawn without being built.
 */
export function* shuffledIndirectSamples(pairs: EmbeddedPairs, context: number, seed = 0, start = 0): Generator<IndirectSample> {
  const { count, dim } = pairs.queries;
  check(Number.isInteger(start) && start >= 0, `start must be a non-negative integer, got ${start}`);
  for (let epoch = Math.floor(start / count); ; epoch++) {
    const rng = mulberry32(seed * 7919 + epoch);
    const order = Array.from({ length: count }, (_, i) => i);
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const permute = (e: Embeddings): Embeddings => {
      const vectors = new Float32Array(e.vectors.length);
      order.forEach((from, to) => vectors.set(e.vectors.subarray(from * dim, (from + 1) * dim), to * dim));
      return { vectors, count, dim };
    };
    const skip = epoch === Math.floor(start / count) ? start % count : 0;
    yield* indirectRetrievalSamples(permute(pairs.queries), permute(pairs.targets), { context, seed: seed * 7919 + epoch, start: skip });
  }
}

export interface IndirectTrainOptions {
  steps: number;
  /** Algorithm 1 samples per step (the paper: 512). Default 32. */
  samples?: number;
  /** Peak learning rate (default 1e-3), warmed up over `warmupSteps` then decayed linearly to 0 at `steps`. */
  learningRate?: number;
  /** Default: a tenth of the steps, at most 100. */
  warmupSteps?: number;
  seed?: number;
  /** The rest of the AdamW / precision settings (lib/trainer.ts's trainConfigSchema). */
  train?: Omit<RetrievalTrainConfigInput, 'learningRate' | 'warmupSteps' | 'totalSteps'>;
  onStep?: (step: number, loss: number, learningRate: number) => void | Promise<void>;
  /**
   * Resumable checkpoints in `checkpoint.dir` (every `checkpoint.every` steps, after the last and when stopped), or
   * with `checkpoint.resume` a continuation of a stopped run from there: weights, AdamW's moments, the schedule and
   * the sample stream's position are restored, so the run goes on as if it had never stopped.
   */
  checkpoint?: RetrievalCheckpointOptions;
  /** Once aborted, training stops after the current step (a checkpoint is written first, if kept). */
  signal?: AbortSignal;
}

/**
 * Trains `model` in place on `pairs`; returns each step's loss (a resumed run's earlier steps included; fewer than
 * `steps` when stopped by `signal`).
 */
export async function trainIndirectRetrieval(model: RetrievalMixer, pairs: EmbeddedPairs, options: IndirectTrainOptions): Promise<number[]> {
  checkPairs(pairs, model);
  const { steps } = options;
  const samples = options.samples ?? 32;
  check(Number.isInteger(steps) && steps >= 1, `steps must be a positive integer, got ${steps}`);
  check(Number.isInteger(samples) && samples >= 1, `samples must be a positive integer, got ${samples}`);
  const trainer = new RetrievalTrainer(model, {
    ...options.train,
    learningRate: options.learningRate ?? 1e-3,
    warmupSteps: options.warmupSteps ?? Math.min(100, Math.floor(steps / 10)),
    totalSteps: steps,
  });
  let learningRate = 0;
  const batches = (start: number) => batchesOf(shuffledIndirectSamples(pairs, model.config.context, options.seed ?? 0, start * samples), samples, pairs.queries.dim);
  try {
    return await resumableSteps({
      model,
      trainer,
      steps,
      batches,
      step: async (batch: IndirectBatch) => {
        const r = await trainer.step(batch);
        learningRate = r.learningRate;
        return r.loss;
      },
      onStep: (step, loss) => options.onStep?.(step, loss, learningRate),
      checkpoint: options.checkpoint,
      signal: options.signal,
    });
  } finally {
    trainer.dispose();
  }
}
