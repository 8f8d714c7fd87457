// The training phase `maskmix train` (train-brown.ts) and `maskmix quickstart` (quickstart.ts) share: every step of
// the run, validation every `evalEvery` steps on up to 128 sequences (all of them at the end), metrics.jsonl in the
// run folder, and a stop by `signal` that RunStart reports as ABORTED when it comes before the first step.
import { join } from 'node:path';

import type { PackedSequences } from './data/corpus.js';
import type { RunStart } from './run-dir.js';
import { trainLoop, type BatchSource, type StepProgress, type TrainLoopResult } from './train-loop.js';
import type { Trainer } from './trainer.js';

export interface BrownTrainPhase {
  runStart: RunStart;
  trainer: Trainer;
  batches: BatchSource;
  validation: PackedSequences;
  runDir: string;
  options: { steps: number; evalEvery: number; batchSize: number; signal?: AbortSignal };
  onStep?: (progress: StepProgress) => void;
}

export function trainBrownPhase(p: BrownTrainPhase): Promise<TrainLoopResult> {
  const o = p.options;
  return p.runStart.train(() => trainLoop({
    trainer: p.trainer,
    batches: p.batches,
    steps: o.steps,
    validation: p.validation,
    evalEvery: o.evalEvery,
    evalBatchSize: o.batchSize,
    evalSequences: 128,
    metricsFile: join(p.runDir, 'metrics.jsonl'),
    onStep: p.onStep,
    signal: o.signal,
  }), () => p.trainer.stepsTaken);
}
