/**
 * `runExperiment`: trains the model an experiment config describes and keeps its run directory complete and
 * resumable — config.json, model.safetensors, tokenizer.json, metrics.jsonl, run.json (the resolved experiment,
 * versions, machine), checkpoint/ (every `checkpointEvery` steps, at the end, and when stopped) and summary.json.
 * A resumed run continues from its checkpoint with the same data order and optimizer state, so on the CPU its
 * losses are bit-identical to an uninterrupted run's. A non-finite loss or gradient stops the run with
 * NON_FINITE and leaves the last good checkpoint as it was.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';

import { saveModel } from '../checkpoint.js';
import { MaskmixError } from '../errors.js';
import { trainingFlops } from '../flops.js';
import { writeJsonAtomic } from '../io/atomic-file.js';
import { dropMetricsAfter, metricsTail } from '../io/metrics-file.js';
import { resolveModelConfig } from '../model-config.js';
import { LanguageModel } from '../model.js';
import { makeRunDir, runEnvironment } from '../run-dir.js';
import { evaluate, trainLoop, type StepProgress } from '../train-loop.js';
import { Trainer } from '../trainer.js';
import { resolveExperimentConfig, withAbsolutePaths, type ExperimentConfig, type ExperimentConfigInput } from './experiment-config.js';
import { prepareExperimentData, type ExperimentData, type ResumableBatches } from './experiment-data.js';
import { checkExperimentCanStart } from './experiment-preflight.js';
import { loadTrainingCheckpoint, saveTrainingCheckpoint } from './training-checkpoint.js';

export interface RunExperimentOptions {
  /** New run directory (made unique if taken and `unique`), or with `resume` the run to continue. */
  runDir: string;
  resume?: boolean;
  unique?: boolean;
  /** A tokenizer.json to use instead of the config's (runs compared on the same data share one). */
  tokenizerJson?: string;
  signal?: AbortSignal;
  onPhase?: (phase: 'data' | 'model' | 'resume' | 'train' | 'checkpoint' | 'save' | 'finished', detail: string) => void;
  onStep?: (progress: StepProgress) => void;
}

export interface ExperimentSummary {
  name: string;
  runDir: string;
  parameters: number;
  steps: number;
  tokensSeen: number;
  flops: number;
  trainLoss: number;
  valLoss: number;
  elapsedSeconds: number;
  tokensPerSecond: number;
  /** Why training ended: all steps done, the budget reached, or stopped (Ctrl-C / abort signal). */
  stoppedBy: 'steps' | 'budget' | 'signal';
}

/** The experiment a run directory was started with (from its run.json). */
export function readRunExperiment(runDir: string): ExperimentConfig {
  const path = join(runDir, 'run.json');
  if (!existsSync(path)) throw new MaskmixError('NOT_FOUND', `${runDir} has no run.json: not a maskmix experiment run`);
  const run = JSON.parse(readFileSync(path, 'utf8')) as { experiment?: unknown };
  if (!run.experiment) throw new MaskmixError('CHECKPOINT_INVALID', `${path} records no experiment config (was it made by quickstart?)`);
  return resolveExperimentConfig(run.experiment);
}

/**
 * The summary of a run that has nothing left to do — all its steps done or its budget spent — or undefined when it
 * can go on (stopped by a signal, or never finished). A resume must not retrain or rewrite a finished run.
 */
export function finishedRunSummary(runDir: string, config: ExperimentConfig): ExperimentSummary | undefined {
  const path = join(runDir, 'summary.json');
  if (!existsSync(path)) return undefined;
  const summary = JSON.parse(readFileSync(path, 'utf8')) as ExperimentSummary;
  // Steps or a budget raised in run.json since (a run extended by hand) leave more to do.
  if (summary.stoppedBy === 'steps' && summary.steps >= config.training.steps) return summary;
  if (summary.stoppedBy === 'budget' && budgetReached(config, summary.elapsedSeconds, summary.flops)) return summary;
  return undefined;
}

export async function runExperiment(input: ExperimentConfigInput | undefined, options: RunExperimentOptions): Promise<ExperimentSummary> {
  const resume = options.resume === true;
  const config = resume ? readRunExperiment(options.runDir) : withAbsolutePaths(resolveExperimentConfig(input));
  if (resume) {
    const finished = finishedRunSummary(options.runDir, config);
    if (finished) {
      const why = finished.stoppedBy === 'budget' ? 'stopped at its budget' : 'already finished';
      options.onPhase?.('finished', `${options.runDir} ${why} at step ${finished.steps}; nothing to resume (results: ${join(options.runDir, 'summary.json')}, model.safetensors)`);
      return { ...finished, runDir: options.runDir };
    }
  }
  checkExperimentCanStart(config, { tokenizerGiven: resume || options.tokenizerJson !== undefined });
  const made = resume ? { dir: options.runDir, created: false } : makeRunDir(options.runDir, { unique: options.unique });
  const runDir = made.dir;
  const name = config.name ?? basename(runDir);
  const context = config.model.context as number;

  let model: LanguageModel | undefined;
  let trainer: Trainer | undefined;
  let iterator: ResumableBatches | undefined;
  let loop = { step: 0, tokensSeen: 0, elapsedSeconds: 0 };
  let data: ExperimentData;
  try {
    const source = config.data;
    options.onPhase?.('data', source.source === 'brown' ? 'the Brown corpus' : source.source === 'shards' ? `token shards in ${source.dir}` : source.paths.join(', '));
    const tokenizerJson = resume ? readFileSync(join(runDir, 'tokenizer.json'), 'utf8') : options.tokenizerJson;
    data = await prepareExperimentData(config, context, tokenizerJson);
    if (!resume) data.tokenizer.save(join(runDir, 'tokenizer.json'));

    const modelConfig = resolveModelConfig({ vocabSize: data.tokenizer.vocabSize, padId: data.eosId, seed: config.seed, ...config.model, device: config.device });
    model = await LanguageModel.create(modelConfig);
    const { steps, batchSize, evalEvery, evalSequences, checkpointEvery, readEvery, ...optimizer } = config.training;
    trainer = new Trainer(model, { ...optimizer, totalSteps: optimizer.totalSteps || steps });
    options.onPhase?.('model', `${modelConfig.kind} d=${modelConfig.dModel} L=${modelConfig.nLayers} n=${context}: ${(model.numParameters / 1e6).toFixed(2)}M parameters`);

    iterator = data.trainBatches(batchSize, config.seed);
    if (resume) {
      const saved = await loadTrainingCheckpoint(runDir, model, trainer);
      iterator.seek(saved.dataPosition as never);
      loop = { step: saved.step, tokensSeen: saved.tokensSeen, elapsedSeconds: saved.elapsedSeconds };
      // Lines of steps after the checkpoint are trained again: drop them so metrics.jsonl keeps one line per step.
      await dropMetricsAfter(join(runDir, 'metrics.jsonl'), saved.step);
      options.onPhase?.('resume', `from step ${saved.step}`);
    } else {
      await writeJsonAtomic(join(runDir, 'run.json'), { experiment: config, environment: runEnvironment() });
    }
  } catch (error) {
    iterator?.close?.();
    trainer?.dispose();
    model?.dispose();
    if (!resume) abandonStart(runDir, made.created);
    throw error;
  }
  return train(config, runDir, name, data, model, trainer, iterator, loop, options);
}

/** Whether a run has spent its time or FLOP budget (never, without one). */
function budgetReached(config: ExperimentConfig, elapsedSeconds: number, flops: number): boolean {
  const budget = config.budget;
  return (budget?.minutes !== undefined && elapsedSeconds >= budget.minutes * 60) || (budget?.flops !== undefined && flops >= budget.flops);
}

/** The figures a summary needs, for a run whose checkpoint is at its last step (see train()). */
async function resultsOfFinishedCheckpoint(model: LanguageModel, data: ExperimentData, batchSize: number, metricsFile: string) {
  const { trainLoss, tokensPerSecond } = metricsTail(metricsFile);
  return { finalTrainLoss: trainLoss, finalValLoss: await evaluate(model, data.valData, { batchSize }), tokensPerSecond, aborted: false };
}

/**
 * A start that failed before training leaves no folder that blocks the retry: removes the files it wrote, and the
 * folder if this start made it and nothing else is in it.
 */
function abandonStart(runDir: string, createdDir: boolean): void {
  for (const file of ['tokenizer.json', 'run.json']) rmSync(join(runDir, file), { force: true });
  if (createdDir && existsSync(runDir) && readdirSync(runDir).length === 0) rmdirSync(runDir);
}

async function train(
  config: ExperimentConfig,
  runDir: string,
  name: string,
  data: ExperimentData,
  model: LanguageModel,
  trainer: Trainer,
  iterator: ResumableBatches,
  loop: { step: number; tokensSeen: number; elapsedSeconds: number },
  options: RunExperimentOptions,
): Promise<ExperimentSummary> {
  const context = config.model.context as number;
  const { steps, batchSize, evalEvery, evalSequences, checkpointEvery, readEvery } = config.training;
  const checkpoint = async (state: { step: number; tokensSeen: number; elapsedSeconds: number }) => {
    options.onPhase?.('checkpoint', `step ${state.step}`);
    await saveTrainingCheckpoint(runDir, model, trainer, { ...state, dataPosition: iterator.position });
  };
  let stoppedBy: ExperimentSummary['stoppedBy'] = 'steps';
  let last = loop;
  // A checkpoint already at the last step, but no summary: the run stopped while saving its results. Write them
  // from the checkpoint (a full evaluation, the training loss from metrics.jsonl) without training or checkpointing.
  const onlyResults = loop.step >= steps;
  options.onPhase?.(
    onlyResults ? 'finished' : 'train',
    onlyResults ? `the checkpoint is at the last step (${loop.step}): writing the model and results, training nothing` : `${steps - loop.step} steps of ${batchSize}×${context} tokens`,
  );
  try {
    const result = onlyResults
      ? await resultsOfFinishedCheckpoint(model, data, batchSize, join(runDir, 'metrics.jsonl'))
      : await trainLoop({
          trainer,
          batches: iterator,
          steps: Math.max(0, steps - loop.step),
          start: loop,
          validation: data.valData,
          evalEvery,
          evalSequences,
          evalBatchSize: batchSize,
          readEvery,
          metricsFile: join(runDir, 'metrics.jsonl'),
          signal: options.signal,
          onStep: options.onStep,
          afterStep: async (end) => {
            last = end;
            const overBudget = budgetReached(config, end.elapsedSeconds, trainingFlops(model.config, end.tokensSeen));
            if (end.step % checkpointEvery === 0 && end.step < steps && !overBudget) await checkpoint(end);
            if (overBudget) {
              stoppedBy = 'budget';
              return 'stop';
            }
          },
        });
    if (result.aborted) stoppedBy = 'signal';
    if (!onlyResults) await checkpoint(last);
    options.onPhase?.('save', runDir);
    await saveModel(model, runDir);
    const summary: ExperimentSummary = {
      name,
      runDir,
      parameters: model.numParameters,
      steps: last.step,
      tokensSeen: last.tokensSeen,
      flops: trainingFlops(model.config, last.tokensSeen),
      trainLoss: result.finalTrainLoss,
      valLoss: result.finalValLoss ?? Number.NaN,
      elapsedSeconds: last.elapsedSeconds,
      tokensPerSecond: result.tokensPerSecond,
      stoppedBy,
    };
    await writeJsonAtomic(join(runDir, 'summary.json'), summary);
    return summary;
  } finally {
    iterator.close?.();
    trainer.dispose();
    model.dispose();
  }
}
