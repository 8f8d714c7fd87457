// An experiment with training.gradientAccumulation: steps and checkpoints count optimizer steps, the data position
// saved in a checkpoint covers every micro-batch, so a stopped and resumed run equals an uninterrupted one.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { ExperimentConfigInput } from '../../lib/experiment/experiment-config.js';
import { runExperiment } from '../../lib/experiment/run-experiment.js';

const CONFIG: ExperimentConfigInput = {
  model: { kind: 'mixer', dModel: 16, nLayers: 1, context: 16 },
  training: { steps: 6, batchSize: 2, gradientAccumulation: 2, learningRate: 3e-3, evalEvery: 6, evalSequences: 4, checkpointEvery: 2 },
  data: { source: 'brown', documents: 10 },
  tokenizer: { vocabSize: 300 },
  seed: 3,
};

const metrics = (runDir: string) =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number; tokens: number });

describe('experiment with gradient accumulation', () => {
  it('counts optimizer steps and all micro-batch tokens, and resumes exactly', async () => {
    const root = mkdtempSync(join(tmpdir(), 'maskmix-exp-accum-'));
    const full = await runExperiment(CONFIG, { runDir: join(root, 'full') });
    expect(full.steps).toBe(6);
    expect(full.tokensSeen).toBe(6 * 2 * 2 * 16);
    const controller = new AbortController();
    await runExperiment(CONFIG, { runDir: join(root, 'stopped'), signal: controller.signal, onStep: (p) => p.step === 3 && controller.abort() });
    const resumed = await runExperiment(undefined, { runDir: join(root, 'stopped'), resume: true });
    expect(resumed.steps).toBe(6);
    const a = new Map(metrics(join(root, 'full')).map((m) => [m.step, m.loss]));
    const b = new Map(metrics(join(root, 'stopped')).map((m) => [m.step, m.loss]));
    for (let step = 1; step <= 6; step++) expect(b.get(step), `step ${step}`).toBe(a.get(step));
  }, 120_000);
});
