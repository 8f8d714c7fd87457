/**
 * The training loop: batches in, steps out, evaluation now and then, metrics to a JSONL file, progress to a
 * callback. The step itself is one native call (Trainer.step); this loop only decides what runs when.
 *
 * When the trainer is data-parallel (it has a process group), the same loop runs on every rank: reported losses
 * are means over the ranks, token counts are global, validation is split between the ranks, only rank 0 writes
 * the metrics file, and stopping through the abort signal is decided together at a read-back step.
 */
import { appendFileSync } from 'node:fs';

import type { PackedSequences } from './data/corpus.js';
import { trainingFlops } from './flops.js';
import { replaceLastMetricsLine } from './io/metrics-file.js';
import type { ProcessGroup } from './dist/process-group.js';
import type { LanguageModel } from './model.js';
import type { StepResult, Trainer } from './trainer.js';
import { evaluateByOffset } from './multi-token.js';

/** Progress after each step that read its loss back (every step on the CPU, every `readEvery` on a GPU). */
export interface StepProgress extends StepResult {
  loss: number;
  totalSteps: number;
  tokensSeen: number;
  elapsedSeconds: number;
  /** Training throughput: tokens over the time spent in training steps (evaluation excluded). */
  tokensPerSecond: number;
  /** Set on steps where the validation loss was measured. */
  valLoss?: number;
}

/** Where batches come from: an in-memory BatchIterator or a shard loader; both never end. */
export interface BatchSource {
  readonly batchSize: number;
  readonly context: number;
  next(): IteratorResult<Int32Array>;
}

/** What `afterStep` sees after every step. */
export interface StepEnd {
  /** Steps taken by the trainer so far (continues across a resume). */
  step: number;
  tokensSeen: number;
  elapsedSeconds: number;
}

export interface TrainLoopOptions {
  trainer: Trainer;
  batches: BatchSource;
  /** Steps to run in this call. */
  steps: number;
  /** Counters of a resumed run, so metrics continue where it stopped. */
  start?: { tokensSeen: number; elapsedSeconds: number };
  /** Called after every step (checkpoints, budgets); returning 'stop' ends the loop after a final evaluation. */
  afterStep?: (end: StepEnd) => Promise<'stop' | void> | 'stop' | void;
  /** Validation sequences; evaluated every `evalEvery` steps and at the end. */
  validation?: PackedSequences;
  evalEvery?: number;
  /** Cap on validation sequences per periodic evaluation (default: all); the final one uses all. */
  evalSequences?: number;
  evalBatchSize?: number;
  /**
   * Append one JSON line per read-back step here (rank 0 only when data-parallel); a run stopped early gets its
   * final validation loss on the last line this call appended, rewritten in place.
   */
  metricsFile?: string;
  /** Read the loss back every this many steps (default 1). On a GPU a larger value lets it run ahead of the host. */
  readEvery?: number;
  onStep?: (progress: StepProgress) => void;
  signal?: AbortSignal;
}

export interface TrainLoopResult {
  steps: number;
  tokensSeen: number;
  elapsedSeconds: number;
  /** Tokens over the time spent in training steps. */
  tokensPerSecond: number;
  /** Mean training loss over the last 10% of steps (at least one step). */
  finalTrainLoss: number;
  finalValLoss?: number;
  /** True when stopped early through the abort signal. */
  aborted: boolean;
  /** True when afterStep asked to stop (e.g. a compute budget was reached). */
  stoppedByCallback: boolean;
}

/**
 * Mean next-token loss over validation sequences (target-weighted), in fixed order. With a process group the
 * batches are dealt out round-robin to the ranks and every rank gets the mean over all of them.
 */
export async function evaluate(
  model: LanguageModel,
  data: PackedSequences,
  options: { batchSize?: number; maxSequences?: number; processGroup?: ProcessGroup } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 8;
  const count = Math.min(data.numSequences, options.maxSequences ?? data.numSequences);
  const group = options.processGroup;
  let weighted = 0;
  let targets = 0;
  for (let start = 0, index = 0; start < count; start += batchSize, index++) {
    if (group && index % group.worldSize !== group.rank) continue;
    const rows = Math.min(batchSize, count - start);
    const tokens = data.data.subarray(start * data.context, (start + rows) * data.context);
    try {
      const r = await model.evalLoss({ tokens, batch: rows });
      weighted += r.loss * r.targets;
      targets += r.targets;
    } catch (error) {
      // A batch made only of padding has no targets; it carries no information, so it is skipped.
      if ((error as { code?: string }).code !== 'INVALID_ARGUMENT') throw error;
    }
  }
  if (group) [weighted, targets] = await group.allReduce([weighted, targets], 'sum');
  return targets > 0 ? weighted / targets : Number.NaN;
}

/** The tokens of one optimizer step: `microBatches` batches of the source, one after another. */
function nextStepTokens(batches: BatchSource, microBatches: number): Int32Array {
  if (microBatches === 1) return batches.next().value;
  const size = batches.batchSize * batches.context;
  const out = new Int32Array(size * microBatches);
  for (let i = 0; i < microBatches; i++) out.set(batches.next().value.subarray(0, size), i * size);
  return out;
}

export async function trainLoop(options: TrainLoopOptions): Promise<TrainLoopResult> {
  const { trainer, batches, steps } = options;
  const model = trainer.model;
  const group = trainer.processGroup;
  const worldSize = group?.worldSize ?? 1;
  const writesFiles = (group?.rank ?? 0) === 0;
  // With gradient accumulation a step takes k batches of the source (micro-batches), stacked into one native call.
  const microBatches = trainer.config.gradientAccumulation;
  const tokensPerStep = batches.batchSize * batches.context * worldSize * microBatches;
  const start = performance.now() - (options.start?.elapsedSeconds ?? 0) * 1000;
  const losses: number[] = [];
  let tokensSeen = options.start?.tokensSeen ?? 0;
  const tokensAtStart = tokensSeen;
  let stepSeconds = 0;
  let finalValLoss: number | undefined;
  let aborted = false;
  let stoppedByCallback = false;
  let evaluatedLastStep = false;
  let lastLine: Record<string, number | number[] | undefined> | undefined;
  // Periodic evaluations may use a subset (evalSequences); the final one uses every validation sequence.
  const runEval = (final: boolean) =>
    evaluate(model, options.validation!, {
      batchSize: options.evalBatchSize,
      maxSequences: final ? undefined : options.evalSequences,
      processGroup: group,
    });

  for (let i = 0; i < steps; i++) {
    // Alone, stop at once; in a group, every rank must stop after the same step (decided below).
    if (!group && options.signal?.aborted) {
      aborted = true;
      break;
    }
    const value = nextStepTokens(batches, microBatches);
    const stepStart = performance.now();
    const last = i === steps - 1;
    const readBack = last || (i + 1) % (options.readEvery ?? 1) === 0 || !!(options.evalEvery && (i + 1) % options.evalEvery === 0);
    const result = await trainer.step({ tokens: value, batch: batches.batchSize * microBatches }, { readBack });
    stepSeconds += (performance.now() - stepStart) / 1000;
    tokensSeen += tokensPerStep;
    const verdict = await options.afterStep?.({ step: result.step, tokensSeen, elapsedSeconds: (performance.now() - start) / 1000 });
    if (verdict === 'stop') stoppedByCallback = true;
    if (result.loss === undefined) {
      if (stoppedByCallback) break;
      continue;
    }
    let { loss, lastLoss } = result;
    let stopHere = false;
    if (group) {
      // One tiny all-reduce per read-back: the mean loss over the ranks, and whether any rank was asked to stop.
      const [lossSum, lastSum, stops] = await group.allReduce([loss, lastLoss ?? loss, options.signal?.aborted ? 1 : 0], 'sum');
      loss = lossSum / worldSize;
      lastLoss = lastSum / worldSize;
      stopHere = stops > 0;
    }
    losses.push(loss);
    const elapsedSeconds = (performance.now() - start) / 1000;
    const progress: StepProgress = {
      ...result,
      loss,
      lastLoss,
      totalSteps: steps,
      tokensSeen,
      elapsedSeconds,
      tokensPerSecond: (tokensSeen - tokensAtStart) / stepSeconds,
    };
    evaluatedLastStep = false;
    if (options.validation && ((options.evalEvery && result.step % options.evalEvery === 0) || last)) {
      progress.valLoss = await runEval(last);
      finalValLoss = progress.valLoss;
      evaluatedLastStep = last;
    }
    // Multi-token models (paper §5.2): the validation loss at every prediction offset, next to valLoss.
    const valLossByOffset =
      progress.valLoss !== undefined && (model.config.predictTokens ?? 1) > 1
        ? await evaluateByOffset(model, options.validation!, { batchSize: options.evalBatchSize, maxSequences: last ? undefined : options.evalSequences })
        : undefined;
    if (options.metricsFile && writesFiles) {
      const line = {
        step: result.step,
        tokens: tokensSeen,
        wallSeconds: Number(elapsedSeconds.toFixed(3)),
        flops: trainingFlops(model.config, tokensSeen),
        loss,
        lr: result.learningRate,
        gradNorm: result.gradNorm,
        tokensPerSecond: Math.round(progress.tokensPerSecond),
        ...(progress.valLoss !== undefined ? { valLoss: progress.valLoss } : {}),
        ...(valLossByOffset ? { valLossByOffset } : {}),
      };
      appendFileSync(options.metricsFile, JSON.stringify(line) + '\n');
      lastLine = line;
    }
    options.onStep?.(progress);
    if (stopHere) {
      aborted = true;
      break;
    }
    if (stoppedByCallback) break;
  }
  // Stopped early: the final evaluation (on every validation sequence) runs here.
  if ((aborted || stoppedByCallback) && options.validation && losses.length > 0 && !evaluatedLastStep) {
    finalValLoss = await runEval(true);
    // The last step's line, now with the final validation loss.
    if (options.metricsFile && writesFiles && lastLine) await replaceLastMetricsLine(options.metricsFile, { ...lastLine, valLoss: finalValLoss });
  }
  const elapsedSeconds = (performance.now() - start) / 1000;
  const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 10)));
  return {
    steps: losses.length,
    tokensSeen,
    elapsedSeconds,
    tokensPerSecond: stepSeconds > 0 ? (tokensSeen - tokensAtStart) / stepSeconds : 0,
    finalTrainLoss: tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : Number.NaN,
    finalValLoss,
    aborted,
    stoppedByCallback,
  };
}
