/**
 * The numbers a comparison table shows for one run, taken from its metrics (and summary.json where the metrics
 * lack them). The final training loss is the mean over the last tenth of logged steps, as the training loop
 * reports it, because a single step's loss is too noisy to compare runs by.
 */
import { finalTrainLoss } from '../io/metrics-file.js';
import type { RunRecord } from './run-record.js';

/** One run's row of the comparison table; a field is undefined when the run did not record it. */
export interface RunStats {
  steps?: number;
  tokens?: number;
  wallSeconds?: number;
  flops?: number;
  /** Training throughput of the last logged step. */
  tokensPerSecond?: number;
  finalTrainLoss?: number;
  finalValLoss?: number;
  bestValLoss?: number;
  parameters?: number;
  /** A one-line description of the model, e.g. `mixer d=256 L=4 n=128 V=4096`. */
  model?: string;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Computes {@link RunStats} for a run. */
export function runStats(record: RunRecord): RunStats {
  const m = record.metrics;
  const last = m[m.length - 1];
  const lastOf = (key: 'tokens' | 'wallSeconds' | 'flops' | 'tokensPerSecond') => {
    for (let i = m.length - 1; i >= 0; i--) if (finite(m[i][key])) return m[i][key];
    return undefined;
  };
  // Non-finite losses (a diverged step, a missing field) are dropped first; finalTrainLoss averages what is left.
  const losses = m.map((p) => p.loss).filter(finite);
  const vals = m.map((p) => p.valLoss).filter(finite);
  const summary = record.summary ?? {};
  return {
    steps: last?.step ?? (finite(summary.steps) ? summary.steps : undefined),
    tokens: lastOf('tokens') ?? (finite(summary.tokensSeen) ? summary.tokensSeen : undefined),
    wallSeconds: lastOf('wallSeconds') ?? (finite(summary.wallSeconds) ? summary.wallSeconds : undefined),
    flops: lastOf('flops'),
    tokensPerSecond: lastOf('tokensPerSecond') ?? (finite(summary.tokensPerSecond) ? summary.tokensPerSecond : undefined),
    finalTrainLoss: losses.length > 0 ? finalTrainLoss(losses) : undefined,
    finalValLoss: vals.length > 0 ? vals[vals.length - 1] : finite(summary.valLoss) ? summary.valLoss : undefined,
    bestValLoss: vals.length > 0 ? Math.min(...vals) : undefined,
    parameters: finite(summary.parameters) ? summary.parameters : undefined,
    model: describeModel(record.config),
  };
}

function describeModel(config: Record<string, unknown> | undefined): string | undefined {
  if (!config) return undefined;
  // A Llama checkpoint's config.json is Hugging Face's, with its own field names.
  const hf = config.model_type === 'llama';
  const fields = hf
    ? [['hidden_size', 'd'], ['num_hidden_layers', 'L'], ['max_position_embeddings', 'n'], ['vocab_size', 'V']]
    : [['dModel', 'd'], ['nLayers', 'L'], ['context', 'n'], ['vocabSize', 'V']];
  const parts: string[] = [];
  if (hf) parts.push('llama');
  else if (typeof config.kind === 'string') parts.push(config.kind);
  for (const [key, label] of fields) if (finite(config[key])) parts.push(`${label}=${config[key]}`);
  return parts.length > 0 ? parts.join(' ') : undefined;
}
