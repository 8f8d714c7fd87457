/**
 * A run directory as a report sees it: the metrics.jsonl lines the training loop wrote, and the JSON files beside
 * them (config.json, run.json, summary.json) when present. Reading is strict about what it needs (step and loss
 * in every metrics line) and lenient about what it does not.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { check, MaskmixError } from '../errors.js';
import { fileError } from '../io/file-errors.js';

/** One metrics.jsonl line (see train-loop.ts). A NaN loss is written as `null` and read back as `NaN`. */
export interface MetricsPoint {
  step: number;
  tokens?: number;
  wallSeconds?: number;
  flops?: number;
  loss: number;
  lr?: number;
  gradNorm?: number;
  tokensPerSecond?: number;
  valLoss?: number;
}

/** Everything a report shows about one run. */
export interface RunRecord {
  dir: string;
  /** Metrics by ascending step; where a step was logged twice (a resumed run), the later line wins. */
  metrics: MetricsPoint[];
  config?: Record<string, unknown>;
  run?: Record<string, unknown>;
  summary?: Record<string, unknown>;
}

const OPTIONAL_NUMBERS = ['tokens', 'wallSeconds', 'flops', 'lr', 'gradNorm', 'tokensPerSecond', 'valLoss'] as const;

/**
 * Reads a run directory. Throws `NOT_FOUND` for a missing folder or one without metrics.jsonl, and `DATA_INVALID`
 * naming the file and line for a malformed metrics line or JSON file. A last metrics line cut off mid-write (no
 * final newline, not parseable) belongs to a run still writing and is left out.
 */
export function readRunRecord(dir: string): RunRecord {
  check(typeof dir === 'string' && dir.length > 0, 'a run directory must be a non-empty string');
  let isDirectory = false;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch (cause) {
    throw new MaskmixError('NOT_FOUND', `no such run directory: ${dir}`, { cause });
  }
  if (!isDirectory) throw new MaskmixError('NOT_FOUND', `${dir} is a file, not a run directory`);
  const metricsPath = join(dir, 'metrics.jsonl');
  if (!existsSync(metricsPath)) throw new MaskmixError('NOT_FOUND', `${dir} has no metrics.jsonl: is it a run directory?`);
  return {
    dir,
    metrics: parseMetrics(readText(metricsPath), metricsPath),
    config: readOptionalJson(join(dir, 'config.json')),
    run: readOptionalJson(join(dir, 'run.json')),
    summary: readOptionalJson(join(dir, 'summary.json')),
  };
}

/** Parses metrics.jsonl text; `path` names the file in errors. See {@link readRunRecord}. */
export function parseMetrics(text: string, path: string): MetricsPoint[] {
  const lines = text.split('\n');
  const byStep = new Map<number, MetricsPoint>();
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const where = `${path}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      if (i === lines.length - 1) continue; // the final line has no newline yet: the run is still writing it
      throw new MaskmixError('DATA_INVALID', `${where}: not valid JSON (${(cause as Error).message})`, { cause });
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new MaskmixError('DATA_INVALID', `${where}: expected a JSON object`);
    const fields = value as Record<string, unknown>;
    const step = fields.step;
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 0) throw new MaskmixError('DATA_INVALID', `${where}: "step" must be a non-negative integer`);
    const loss = fields.loss;
    if (loss !== null && typeof loss !== 'number') throw new MaskmixError('DATA_INVALID', `${where}: "loss" must be a number`);
    const point: MetricsPoint = { step, loss: loss ?? Number.NaN };
    for (const key of OPTIONAL_NUMBERS) {
      const v = fields[key];
      if (v === undefined) continue;
      if (v !== null && typeof v !== 'number') throw new MaskmixError('DATA_INVALID', `${where}: "${key}" must be a number`);
      point[key] = v ?? Number.NaN;
    }
    byStep.set(step, point);
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw fileError(error, path);
  }
}

function readOptionalJson(path: string): Record<string, unknown> | undefined {
  if (!existsSync(path)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readText(path));
  } catch (cause) {
    if (cause instanceof MaskmixError) throw cause;
    throw new MaskmixError('DATA_INVALID', `${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new MaskmixError('DATA_INVALID', `${path} must hold a JSON object`);
  return value as Record<string, unknown>;
}
