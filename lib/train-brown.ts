/**
 * `maskmix train`: a masked mixer trained on the embedded Brown corpus with the model size, steps, batch and
 * device given — on one process, or data-parallel under `maskmix launch` (the same code: initDistributed gives a
 * world of one when not launched). Rank 0 trains the tokenizer and hands it to the others, the batches are
 * sharded by rank, and rank 0 alone writes the run directory.
 */
import { join } from 'node:path';

import { BROWN_RUN_DEFAULTS, type BrownRunOptions } from './brown-run-options.js';
import { trainBrownPhase } from './brown-train-phase.js';
import { prepareBrownDataset } from './data/brown-dataset.js';
import { initDistributed } from './dist/init.js';
import { saveModelOnRankZero } from './dist/rank-zero.js';
import { distributedBatches } from './dist/sampler.js';
import { writeJsonAtomic } from './io/atomic-file.js';
import { LanguageModel } from './model.js';
import { makeRunDir, RunStart, runEnvironment } from './run-dir.js';
import type { StepProgress } from './train-loop.js';
import { Trainer } from './trainer.js';

/** Options of {@link trainBrown}; sizes are per rank where that matters (batchSize). */
export interface TrainBrownOptions extends BrownRunOptions {
  /** 'auto' (default: this rank's GPU if there is one, else the CPU), 'cpu', 'cuda' or 'cuda:N'. */
  device?: string;
  /** Micro-batches of batchSize per optimizer step (default 1: no accumulation). */
  gradientAccumulation?: number;
  /** Capture each step as one CUDA graph (the Trainer's `cudaGraph`; one CUDA device, no accumulation). */
  cudaGraph?: boolean;
}

/** Progress callbacks of {@link trainBrown}. */
export interface TrainBrownEvents {
  /** A phase began (reported on rank 0 only). */
  onPhase?: (phase: 'corpus' | 'tokenizer' | 'model' | 'train' | 'save', detail: string) => void;
  /** After each read-back step, on every rank (losses are means over the ranks). */
  onStep?: (progress: StepProgress) => void;
}

/** What {@link trainBrown} did; on every rank, with world-wide token counts and losses. */
export interface TrainBrownSummary {
  runDir: string;
  rank: number;
  worldSize: number;
  device: string;
  parameters: number;
  steps: number;
  /** Tokens over all ranks. */
  tokensSeen: number;
  trainLoss: number;
  valLoss: number;
  tokensPerSecond: number;
  trainSeconds: number;
}

/** Defaults of `maskmix train` (those of quickstart, plus the device). */
export const TRAIN_DEFAULTS = {
  ...BROWN_RUN_DEFAULTS,
  outDir: 'runs/train',
  device: 'auto',
} as const;

/**
 * Trains a masked mixer on the Brown corpus and writes a run directory (rank 0). Call it the same way on every rank
 * of a launch, or alone.
 * @throws MaskmixError DISTRIBUTED / DISTRIBUTED_TIMEOUT when another rank fails; ABORTED when `signal` stops it
 *   before its first step (nothing is kept: see RunStart); the usual training errors.
 */
export async function trainBrown(options: TrainBrownOptions = {}, events: TrainBrownEvents = {}): Promise<TrainBrownSummary> {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...TRAIN_DEFAULTS, ...given } as typeof TRAIN_DEFAULTS & TrainBrownOptions;
  const dist = await initDistributed({ device: o.device });
  const group = dist.processGroup;
  const onPhase = dist.isRankZero ? events.onPhase : undefined;

  // Rank 0 picks the run directory and trains the tokenizer; the others take both from it.
  const made = dist.isRankZero ? makeRunDir(o.outDir, { unique: options.outDir === undefined }) : { dir: '', created: false };
  const runDir = made.dir;
  // Only rank 0 has a folder to clean up; under launch the signal never aborts (the launcher stops the ranks).
  const runStart = new RunStart(dist.isRankZero ? made : undefined, o.signal);
  const start = async () => {
    const common = { documents: o.documents, vocabSize: o.vocabSize, context: o.context, seed: o.seed, onPhase };
    const data = dist.isRankZero ? await prepareBrownDataset(common) : undefined;
    const shared = group ? await group.broadcastJson(data ? { runDir, tokenizerJson: data.tokenizer.toJSON() } : undefined) : undefined;
    const { tokenizer, eosId, trainData, valData, ...counts } = data ?? (await prepareBrownDataset({ ...common, tokenizerJson: shared!.tokenizerJson }));
    runStart.checkNotAborted();
    if (dist.isRankZero) tokenizer.save(join(runDir, 'tokenizer.json'));

    const model = runStart.own(await LanguageModel.create({
      kind: 'mixer',
      vocabSize: tokenizer.vocabSize,
      dModel: o.dModel,
      nLayers: o.nLayers,
      context: o.context,
      padId: eosId,
      seed: o.seed,
      device: dist.device,
    }));
    onPhase?.(
      'model',
      `masked mixer d=${o.dModel} L=${o.nLayers} n=${o.context}: ${(model.numParameters / 1e6).toFixed(2)}M parameters on ` +
        `${dist.worldSize} × ${dist.device}${group ? ` (${group.backend})` : ''}; ${trainData.numSequences} train sequences`,
    );
    const trainConfig = {
      learningRate: o.learningRate,
      warmupSteps: Math.min(50, Math.floor(o.steps / 10)),
      totalSteps: o.steps,
      gradClip: 1,
      gradientAccumulation: accumulation,
      cudaGraph: o.cudaGraph ?? false,
    };
    const trainer = runStart.own(new Trainer(model, trainConfig, dist.trainerOptions));
    if (dist.isRankZero) {
      await writeJsonAtomic(join(runDir, 'run.json'), {
        command: 'train',
        data: { corpus: 'brown', ...counts },
        training: { ...trainConfig, batchSize: o.batchSize, globalBatchSize: o.batchSize * accumulation * dist.worldSize, steps: o.steps, seed: o.seed },
        distributed: { worldSize: dist.worldSize, backend: group?.backend ?? null, device: dist.device },
        environment: runEnvironment(),
      });
    }
    return { shared, trainData, valData, model, trainer };
  };
  const accumulation = o.gradientAccumulation ?? 1;
  const { shared, trainData, valData, model, trainer } = await runStart.setUp(start);

  onPhase?.('train', `${o.steps} steps of ${dist.worldSize} × ${accumulation > 1 ? `${accumulation} × ` : ''}${o.batchSize}×${o.context} tokens`);
  const result = await trainBrownPhase({
    runStart,
    trainer,
    batches: distributedBatches(trainData, o.batchSize, { seed: o.seed }),
    validation: valData,
    runDir,
    options: o,
    onStep: events.onStep,
  });

  onPhase?.('save', dist.isRankZero ? runDir : '');
  await saveModelOnRankZero(model, runDir, group);
  const summary: TrainBrownSummary = {
    runDir: shared?.runDir ?? runDir,
    rank: dist.rank,
    worldSize: dist.worldSize,
    device: dist.device,
    parameters: model.numParameters,
    steps: result.steps,
    tokensSeen: result.tokensSeen,
    trainLoss: result.finalTrainLoss,
    valLoss: result.finalValLoss ?? Number.NaN,
    tokensPerSecond: result.tokensPerSecond,
    trainSeconds: result.elapsedSeconds,
  };
  if (dist.isRankZero) await writeJsonAtomic(join(runDir, 'summary.json'), summary);
  trainer.dispose();
  model.dispose();
  await dist.shutdown();
  return summary;
}
