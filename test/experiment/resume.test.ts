// Runs of an experiment: resume continues bit-exactly on the CPU, a checkpoint survives a crash mid-write, a
// non-finite step stops the run and keeps the last good checkpoint, configs fail with the field named.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { readExperimentConfig, resolveExperimentConfig, type ExperimentConfigInput } from '../../lib/experiment/experiment-config.js';
import { runExperiment } from '../../lib/experiment/run-experiment.js';
import { findCheckpoint } from '../../lib/experiment/training-checkpoint.js';
import { readSafetensors } from '../../lib/io/safetensors.js';

const CONFIG: ExperimentConfigInput = {
  model: { kind: 'mixer', dModel: 32, nLayers: 2, context: 32 },
  training: { steps: 12, batchSize: 4, learningRate: 3e-3, warmupSteps: 2, evalEvery: 6, evalSequences: 8, checkpointEvery: 4 },
  data: { source: 'brown', documents: 20 },
  tokenizer: { vocabSize: 300 },
  seed: 3,
};

const losses = (runDir: string) =>
  new Map(readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((m) => [m.step, m.loss]));

describe('experiment runs', () => {
  it('a run stopped at step 5 and resumed has exactly the losses and weights of an uninterrupted run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'maskmix-exp-'));
    const full = await runExperiment(CONFIG, { runDir: join(root, 'full') });
    expect(full.steps).toBe(12);

    const controller = new AbortController();
    const stopped = await runExperiment(CONFIG, {
      runDir: join(root, 'stopped'),
      signal: controller.signal,
      onStep: (p) => p.step === 5 && controller.abort(),
    });
    expect(stopped).toMatchObject({ steps: 5, stoppedBy: 'signal' });
    const resumed = await runExperiment(undefined, { runDir: join(root, 'stopped'), resume: true });
    expect(resumed).toMatchObject({ steps: 12, stoppedBy: 'steps' });

    const a = losses(join(root, 'full'));
    const b = losses(join(root, 'stopped'));
    for (let step = 1; step <= 12; step++) expect(b.get(step), `step ${step}`).toBe(a.get(step));
    const wa = await readSafetensors(join(root, 'full', 'model.safetensors'));
    const wb = await readSafetensors(join(root, 'stopped', 'model.safetensors'));
    for (const [name, t] of wa.tensors) expect(Buffer.from(wb.tensors.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
  }, 300_000);

  it('a crash while writing a checkpoint leaves the previous one loadable', async () => {
    const root = mkdtempSync(join(tmpdir(), 'maskmix-exp-'));
    const run = join(root, 'run');
    await runExperiment({ ...CONFIG, training: { ...CONFIG.training, steps: 8 } }, { runDir: run });
    // A half-written new checkpoint beside the good one (the writer died before its renames) …
    mkdirSync(join(run, 'checkpoint.new-999'));
    writeFileSync(join(run, 'checkpoint.new-999', 'model.safetensors'), 'trunc');
    expect(findCheckpoint(run)).toBe(join(run, 'checkpoint'));
    // … or a crash between the two renames: only checkpoint.old-* is left.
    renameSync(join(run, 'checkpoint'), join(run, 'checkpoint.old-999'));
    expect(findCheckpoint(run)).toBe(join(run, 'checkpoint.old-999'));
    const more = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
    more.experiment.training.steps = 10;
    writeFileSync(join(run, 'run.json'), JSON.stringify(more));
    const resumed = await runExperiment(undefined, { runDir: run, resume: true });
    expect(resumed.steps).toBe(10);
    expect(existsSync(join(run, 'checkpoint', 'state.json'))).toBe(true);
  }, 300_000);

  it('a non-finite loss stops the run with NON_FINITE and the last good checkpoint stays', async () => {
    const root = mkdtempSync(join(tmpdir(), 'maskmix-exp-'));
    const run = join(root, 'run');
    const config = { ...CONFIG, training: { ...CONFIG.training, learningRate: 1e30, warmupSteps: 0, checkpointEvery: 1, gradClip: 0 } };
    await expect(runExperiment(config, { runDir: run })).rejects.toMatchObject({ code: 'NON_FINITE' });
    const state = JSON.parse(readFileSync(join(run, 'checkpoint', 'state.json'), 'utf8'));
    expect(state.step).toBeGreaterThanOrEqual(1);
    const weights = await readSafetensors(join(run, 'checkpoint', 'model.safetensors'));
    for (const t of weights.tensors.values()) for (const v of t.data as Float32Array) expect(Number.isFinite(v)).toBe(true);
    cpSync(run, join(root, 'copy'), { recursive: true });
  }, 300_000);

  it('config errors name the field and what it accepts', () => {
    expect(() => resolveExperimentConfig({ ...CONFIG, training: { ...CONFIG.training, steps: 0 } })).toThrow(/training\.steps: training\.steps must be a positive integer/);
    expect(() => resolveExperimentConfig({ ...CONFIG, data: { source: 'web' } })).toThrow(/data\.source must be 'brown', 'files' or 'shards'/);
    expect(() => resolveExperimentConfig({ ...CONFIG, tokenizer: { size: 10 } })).toThrow(/tokenizer must be \{ vocabSize \}/);
    expect(() => resolveExperimentConfig({ ...CONFIG, colour: 'blue' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => readExperimentConfig('/no/such/config.json')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });
});
