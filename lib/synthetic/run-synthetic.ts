/**
 * `runSynthetic`: trains every model of a model set on every synthetic task for the same number of steps (fresh
 * weights per task, loss on answer tokens only), scores each on held-out sequences and returns a table. With an
 * `outDir` each (task, model) pair gets a run folder (metrics.jsonl, summary.json) that `maskmix report` reads,
 * and the folder gets results.json, results.md and report.html.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { deriveSeed } from '../data/random.js';
import { check } from '../errors.js';
import { LanguageModel } from '../model.js';
import { writeReport } from '../report/write-report.js';
import { checkDevice } from '../experiment/experiment-preflight.js';
import { finalTrainLoss } from '../io/metrics-file.js';
import { abandonRunStart, makeRunDir, RunStart } from '../run-dir.js';
import { Trainer } from '../trainer.js';
import { completeModelConfig, type ModelSet } from './model-set.js';
import { evaluateSynthetic } from './synthetic-eval.js';
import { SYNTHETIC_PAD, SYNTHETIC_TASKS, syntheticBatch, syntheticTask, type SyntheticTaskName } from './synthetic-tasks.js';

export interface SyntheticRunOptions {
  /** Default: all three. */
  tasks?: readonly SyntheticTaskName[];
  /** Training steps per (task, model). Default 150. */
  steps?: number;
  /** Sequences per step. Default 32. */
  batchSize?: number;
  /** Sequence length. Default 32. */
  context?: number;
  /** Vocabulary size. Default 32. */
  vocabSize?: number;
  /** Multi-hop lookups per query. Default 2. */
  hops?: number;
  /** Held-out sequences scored per (task, model). Default 256. */
  evalSequences?: number;
  /** Seed of the weights, the training batches and (derived) the held-out batches. Default 0. */
  seed?: number;
  device?: string;
  /** Learning rate for models whose entry sets none. Default 1e-3. */
  learningRate?: number;
  /** Folder for results (made unique if taken); none: nothing is written. */
  outDir?: string;
  signal?: AbortSignal;
  onRun?: (task: SyntheticTaskName, model: string, index: number, total: number) => void;
  onStep?: (step: number, steps: number, loss: number) => void;
}

export interface SyntheticResult {
  task: SyntheticTaskName;
  model: string;
  kind: string;
  parameters: number;
  steps: number;
  /** Mean training loss over the first and the last tenth of the steps (answer tokens only). */
  firstLoss: number;
  lastLoss: number;
  /** On held-out sequences: exact-match accuracy over answer tokens, all answers of a sequence right, loss. */
  accuracy: number;
  sequenceAccuracy: number;
  evalLoss: number;
  seconds: number;
}

export interface SyntheticRun {
  settings: Required<Omit<SyntheticRunOptions, 'outDir' | 'signal' | 'onRun' | 'onStep'>>;
  results: SyntheticResult[];
  /** Where results went, when `outDir` was given. */
  outDir?: string;
  /** Whether the signal stopped the run early (the table holds what finished). */
  aborted: boolean;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function runSynthetic(set: ModelSet, options: SyntheticRunOptions = {}): Promise<SyntheticRun> {
  const settings = {
    tasks: options.tasks ?? SYNTHETIC_TASKS,
    steps: options.steps ?? 150,
    batchSize: options.batchSize ?? 32,
    context: options.context ?? 32,
    vocabSize: options.vocabSize ?? 32,
    hops: options.hops ?? 2,
    evalSequences: options.evalSequences ?? 256,
    seed: options.seed ?? 0,
    device: options.device ?? 'cpu',
    learningRate: options.learningRate ?? 1e-3,
  };
  check(settings.tasks.length > 0, 'give at least one task');
  check(Number.isInteger(settings.steps) && settings.steps >= 1, `steps must be a positive integer, got ${settings.steps}`);
  // Everything checkable is checked before a folder is made, so a bad device or model config leaves nothing behind.
  // Configs are all validated (device spelling included) before any device is looked for.
  // The (task, model) configs built here are the ones the runs below use.
  const plan = settings.tasks.map((taskName) => {
    const task = syntheticTask(taskName, settings);
    const configs = set.models.map((entry) =>
      completeModelConfig(entry, { vocabSize: task.vocabSize, context: task.context, padId: SYNTHETIC_PAD, seed: settings.seed, device: settings.device }),
    );
    return { taskName, task, configs };
  });
  // An entry may name its own device, which --device does not cover.
  const devices = new Set<string>([settings.device, ...plan.flatMap((p) => p.configs.map((c) => c.device))]);
  for (const device of devices) checkDevice(device);
  const made = options.outDir !== undefined ? makeRunDir(options.outDir, { unique: true }) : undefined;
  const outDir = made?.dir;
  const results: SyntheticResult[] = [];
  const total = settings.tasks.length * set.models.length;
  let aborted = false;

  for (const [t, { taskName, task, configs }] of plan.entries()) {
    for (const [m, entry] of set.models.entries()) {
      if (options.signal?.aborted) aborted = true;
      if (aborted) break;
      options.onRun?.(taskName, entry.name, t * set.models.length + m, total);
      const runDir = outDir !== undefined ? join(outDir, taskName, entry.name) : undefined;
      const config = configs[m];
      // A pair that fails to start keeps no folder (RunStart), nor the task and results folders if now empty.
      const runStart = new RunStart(runDir !== undefined ? makeRunDir(runDir) : undefined);
      let started: { model: LanguageModel; trainer: Trainer };
      try {
        started = await runStart.setUp(async () => {
          const model = runStart.own(await LanguageModel.create(config));
          const training = { learningRate: settings.learningRate, warmupSteps: Math.floor(settings.steps / 20), totalSteps: settings.steps, ...entry.training };
          return { model, trainer: runStart.own(new Trainer(model, training)) };
        });
      } catch (error) {
        if (made) {
          abandonRunStart(join(made.dir, taskName), true);
          abandonRunStart(made.dir, made.created);
        }
        throw error;
      }
      const { model, trainer } = started;
      try {
        const started = performance.now();
        const losses: number[] = [];
        for (let step = 0; step < settings.steps; step++) {
          if (options.signal?.aborted) break;
          // Batches depend on the seed and the step only: every model of a task sees the same sequences.
          const batch = syntheticBatch(task, settings.batchSize, deriveSeed(settings.seed, step));
          const r = await trainer.step(batch, { targetMask: batch.answerMask });
          const loss = r.lastLoss ?? Number.NaN;
          losses.push(loss);
          options.onStep?.(step + 1, settings.steps, loss);
          if (runDir) appendFileSync(join(runDir, 'metrics.jsonl'), `${JSON.stringify({ step: step + 1, loss, lr: r.learningRate, wallSeconds: (performance.now() - started) / 1000 })}\n`);
        }
        if (losses.length < settings.steps) aborted = true;
        // Held-out sequences come from a seed stream the training batches never use.
        const score = await evaluateSynthetic(model, task, { sequences: settings.evalSequences, seed: deriveSeed(settings.seed ^ 0x7e57, 1 << 20) });
        const firstTenth = Math.max(1, Math.floor(losses.length / 10));
        const result: SyntheticResult = {
          task: taskName,
          model: entry.name,
          kind: config.kind,
          parameters: model.numParameters,
          steps: losses.length,
          firstLoss: mean(losses.slice(0, firstTenth)),
          // The same last-tenth mean as every other run's summary (lib/io/metrics-file.ts).
          lastLoss: finalTrainLoss(losses),
          accuracy: score.accuracy,
          sequenceAccuracy: score.sequenceAccuracy,
          evalLoss: score.loss,
          seconds: (performance.now() - started) / 1000,
        };
        results.push(result);
        if (runDir) {
          writeFileSync(join(runDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
          writeFileSync(join(runDir, 'summary.json'), `${JSON.stringify({ ...result, trainLoss: result.lastLoss }, null, 2)}\n`);
        }
      } finally {
        trainer.dispose();
        model.dispose();
      }
    }
  }

  const run: SyntheticRun = { settings, results, outDir, aborted };
  if (outDir !== undefined && results.length > 0) {
    writeFileSync(join(outDir, 'results.json'), `${JSON.stringify({ settings, results }, null, 2)}\n`);
    writeFileSync(join(outDir, 'results.md'), `${formatSyntheticTable(results)}\n`);
    await writeReport(
      results.map((r) => join(outDir, r.task, r.model)),
      join(outDir, 'report.html'),
      { title: `maskmix synthetic (${settings.tasks.join(', ')}; ${settings.steps} steps)`, labels: results.map((r) => `${r.task}/${r.model}`) },
    );
  }
  return run;
}

const percent = (x: number) => (100 * x).toFixed(2);

/**
 * The results as a markdown table: one row per model, answer-token accuracy (%) per task, then parameters and the
 * final training loss per task.
 */
export function formatSyntheticTable(results: readonly SyntheticResult[]): string {
  const tasks = [...new Set(results.map((r) => r.task))];
  const models = [...new Set(results.map((r) => r.model))];
  const header = ['model', 'params', ...tasks.map((t) => `${t} acc %`), ...tasks.map((t) => `${t} loss`)];
  const rows = models.map((name) => {
    const of = (task: string) => results.find((r) => r.model === name && r.task === task);
    const any = results.find((r) => r.model === name);
    return [
      name,
      any ? `${(any.parameters / 1e3).toFixed(1)}k` : '',
      ...tasks.map((t) => (of(t) ? percent(of(t)!.accuracy) : '–')),
      ...tasks.map((t) => (of(t) ? `${of(t)!.firstLoss.toFixed(2)}→${of(t)!.lastLoss.toFixed(2)}` : '–')),
    ];
  });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
