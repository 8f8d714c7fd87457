/**
 * Fixed-compute comparisons (the paper's appendix tables) and sweeps: several experiments run one after another
 * on the same data — one tokenizer, one split, the same validation sequences — each stopped by the same budget
 * (minutes or FLOPs) or its steps, then summarised in one table and one HTML report.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { MaskmixError } from '../errors.js';
import { writeReport } from '../report/write-report.js';
import { createRunDir } from '../run-dir.js';
import type { StepProgress } from '../train-loop.js';
import { resolveExperimentConfig, type ExperimentConfig, type ExperimentConfigInput } from './experiment-config.js';
import { checkExperimentCanStart } from './experiment-preflight.js';
import { runExperiment, type ExperimentSummary } from './run-experiment.js';

export interface CompareOptions {
  /** Folder for the runs (one sub-folder each) and report.html. */
  outDir: string;
  /** Overrides every experiment's budget. */
  budget?: { minutes?: number; flops?: number };
  signal?: AbortSignal;
  onRun?: (name: string, index: number, total: number) => void;
  onPhase?: (phase: string, detail: string) => void;
  onStep?: (progress: StepProgress) => void;
}

export interface CompareResult {
  outDir: string;
  runs: ExperimentSummary[];
  report: string;
}

/** Fields that decide the data and its split; compared experiments must agree on them. */
function dataIdentity(c: ExperimentConfig): string {
  return JSON.stringify({ data: c.data, tokenizer: c.tokenizer, valFraction: c.valFraction, seed: c.seed, context: c.model.context });
}

export async function compare(experiments: ExperimentConfigInput[], options: CompareOptions): Promise<CompareResult> {
  if (experiments.length === 0) throw new MaskmixError('INVALID_ARGUMENT', 'compare needs at least one experiment');
  const configs = experiments.map((e) => resolveExperimentConfig(e));
  const identity = dataIdentity(configs[0]);
  configs.forEach((c, i) => {
    if (dataIdentity(c) !== identity) {
      throw new MaskmixError('CONFIG_INVALID', `experiment ${i + 1} (${c.name ?? 'unnamed'}) uses other data, tokenizer, split, seed or context than the first; a comparison needs the same validation data`);
    }
  });
  // Every run is checked before the first one trains: a bad one later would waste the time spent on the others.
  const names = configs.map((c, i) => c.name ?? `run-${i + 1}`);
  const folders = names.map((name) => name.replace(/[^\w.=,-]+/g, '_'));
  folders.forEach((folder, i) => {
    const first = folders.indexOf(folder);
    if (first !== i) {
      throw new MaskmixError('CONFIG_INVALID', `experiments ${first + 1} and ${i + 1} would share the run folder ${folder} (names ${names[first]} and ${names[i]}); give each a different name`);
    }
  });
  configs.forEach((c, i) => {
    try {
      checkExperimentCanStart(c);
    } catch (error) {
      if (error instanceof MaskmixError) throw new MaskmixError(error.code, `experiment ${i + 1} (${names[i]}): ${error.message}`, { cause: error });
      throw error;
    }
  });
  const outDir = createRunDir(options.outDir, { unique: true });
  const runs: ExperimentSummary[] = [];
  let tokenizerJson: string | undefined;
  for (const [index, config] of configs.entries()) {
    const name = names[index];
    options.onRun?.(name, index, configs.length);
    const summary = await runExperiment(
      { ...config, name, budget: options.budget ?? config.budget },
      { runDir: join(outDir, folders[index]), tokenizerJson, signal: options.signal, onPhase: options.onPhase, onStep: options.onStep },
    );
    runs.push(summary);
    // Every later run uses the first one's tokenizer: the same tokens, hence the same validation data.
    tokenizerJson ??= readFileSync(join(summary.runDir, 'tokenizer.json'), 'utf8');
    if (options.signal?.aborted) break;
  }
  const report = join(outDir, 'report.html');
  await writeReport(runs.map((r) => r.runDir), report, { title: `maskmix compare (${runs.length} runs)`, labels: runs.map((r) => r.name) });
  return { outDir, runs, report };
}

/** Sets `value` at a dotted path (`training.learningRate`) of a copy of `config`. */
function withField(config: ExperimentConfigInput, path: string, value: unknown): ExperimentConfigInput {
  const copy = structuredClone(config) as Record<string, unknown>;
  const keys = path.split('.');
  let node = copy;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
  return copy as ExperimentConfigInput;
}

/** Every combination of the grid's values, applied to `base`, each named after its values. */
export function sweepExperiments(base: ExperimentConfigInput, grid: Record<string, unknown[]>): ExperimentConfigInput[] {
  let out: Array<{ config: ExperimentConfigInput; parts: string[] }> = [{ config: base, parts: [] }];
  for (const [path, values] of Object.entries(grid)) {
    if (values.length === 0) throw new MaskmixError('INVALID_ARGUMENT', `the sweep gives no values for ${path}`);
    const short = path.split('.').pop();
    out = out.flatMap(({ config, parts }) => values.map((v) => ({ config: withField(config, path, v), parts: [...parts, `${short}=${v}`] })));
  }
  return out.map(({ config, parts }) => ({ ...config, name: parts.join(',') || (base.name ?? 'base') }));
}

/** The comparison as a fixed-width table. */
export function formatCompareTable(runs: ExperimentSummary[]): string {
  const rows = [['run', 'params', 'steps', 'tokens', 'TFLOPs', 'minutes', 'train loss', 'val loss', 'tokens/s', 'stopped by']];
  for (const r of runs) {
    rows.push([
      r.name,
      `${(r.parameters / 1e6).toFixed(2)}M`,
      String(r.steps),
      r.tokensSeen.toLocaleString('en-US'),
      (r.flops / 1e12).toFixed(3),
      (r.elapsedSeconds / 60).toFixed(2),
      r.trainLoss.toFixed(4),
      r.valLoss.toFixed(4),
      Math.round(r.tokensPerSecond).toLocaleString('en-US'),
      r.stoppedBy,
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join('  ')).join('\n');
}
