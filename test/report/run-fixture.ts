/** Run directories shaped like the training loop leaves them, with made-up but plausible metrics. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Options for {@link makeRun}. */
export interface FakeRunOptions {
  steps: number;
  /** Loss the curve settles at. */
  floor: number;
  /** Validation every this many steps (and at the end); 0 for none. */
  evalEvery?: number;
  tokensPerStep?: number;
  secondsPerStep?: number;
  flopsPerToken?: number;
  config?: Record<string, unknown>;
  run?: Record<string, unknown>;
  summary?: Record<string, unknown>;
}

/** Writes metrics.jsonl (and the JSON files given) into `dir` and returns `dir`. */
export function makeRun(dir: string, o: FakeRunOptions): string {
  mkdirSync(dir, { recursive: true });
  const tokensPerStep = o.tokensPerStep ?? 2048;
  const lines: string[] = [];
  for (let step = 1; step <= o.steps; step++) {
    const loss = o.floor + 6 * Math.exp(-step / (o.steps / 6)) + 0.05 * Math.sin(step * 1.7);
    const line: Record<string, unknown> = {
      step,
      tokens: step * tokensPerStep,
      wallSeconds: Number((step * (o.secondsPerStep ?? 0.05)).toFixed(3)),
      flops: step * tokensPerStep * (o.flopsPerToken ?? 6e6),
      loss,
      lr: 1e-3 * Math.min(1, step / 10),
      gradNorm: 1 + 2 * Math.exp(-step / 20),
      tokensPerSecond: Math.round(tokensPerStep / (o.secondsPerStep ?? 0.05)),
    };
    if (o.evalEvery && (step % o.evalEvery === 0 || step === o.steps)) line.valLoss = loss + 0.1;
    lines.push(JSON.stringify(line));
  }
  writeFileSync(join(dir, 'metrics.jsonl'), lines.join('\n') + '\n');
  for (const name of ['config', 'run', 'summary'] as const) {
    if (o[name]) writeFileSync(join(dir, `${name}.json`), JSON.stringify(o[name], null, 2));
  }
  return dir;
}
