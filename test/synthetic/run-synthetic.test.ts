// The runner on a tiny model set: training on answer tokens lowers the loss, and the table and files are written.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { modelSetExperiments } from '../../lib/experiment/model-set-experiments.js';
import { namedModelSet, resolveModelSet, selectModels } from '../../lib/synthetic/model-set.js';
import { formatSyntheticTable, runSynthetic } from '../../lib/synthetic/run-synthetic.js';

const tiny = resolveModelSet({
  models: [
    { name: 'mixer', model: { kind: 'mixer', dModel: 16, nLayers: 1 }, training: { learningRate: 0.01 } },
    { name: 'llama', model: { kind: 'llama', dModel: 16, nLayers: 1, nHeads: 2 }, training: { learningRate: 0.01 } },
  ],
});

describe('runSynthetic', () => {
  it('trains each model on each task, loss falls, and writes results.json, results.md and report.html', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'maskmix-synthetic-')), 'run');
    const run = await runSynthetic(tiny, { tasks: ['copy', 'recall'], steps: 40, batchSize: 16, context: 16, vocabSize: 12, evalSequences: 32, outDir: out });
    expect(run.results.map((r) => `${r.task}/${r.model}`)).toEqual(['copy/mixer', 'copy/llama', 'recall/mixer', 'recall/llama']);
    for (const r of run.results) {
      expect(r.steps).toBe(40);
      expect(r.lastLoss).toBeLessThan(r.firstLoss);
      expect(r.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.accuracy).toBeLessThanOrEqual(1);
    }
    // The mixer's fixed-offset mixing learns copy well within 40 steps at this size.
    expect(run.results[0].accuracy).toBeGreaterThan(1 / 10);
    const md = readFileSync(join(run.outDir!, 'results.md'), 'utf8');
    expect(md).toContain('| model | params | copy acc % | recall acc % |');
    expect(md).toMatch(/\| llama \| [\d.]+k \|/);
    expect(JSON.parse(readFileSync(join(run.outDir!, 'results.json'), 'utf8')).results).toHaveLength(4);
    expect(existsSync(join(run.outDir!, 'report.html'))).toBe(true);
    expect(readFileSync(join(run.outDir!, 'copy', 'mixer', 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(40);
    expect(formatSyntheticTable(run.results)).toBe(md.trim());
  });

  it("a set entry overrides only the training fields it names: the runner's warm-up and decay and a base config's settings stay", async () => {
    const set = resolveModelSet({ models: [{ name: 'm', model: { kind: 'mixer', dModel: 8, nLayers: 1 }, training: { learningRate: 0.01 } }] });
    // No schema defaults (warmupSteps 0, totalSteps 0 = constant rate, …) filled into the entry.
    expect(set.models[0].training).toEqual({ learningRate: 0.01 });
    const [experiment] = modelSetExperiments(set, { model: { kind: 'mixer', context: 16 }, training: { steps: 10, batchSize: 4, warmupSteps: 4, weightDecay: 0.1 } });
    expect(experiment.training).toEqual({ steps: 10, batchSize: 4, warmupSteps: 4, weightDecay: 0.1, learningRate: 0.01 });
    // The runner warms up over steps/20 and decays linearly to 0 at the last step.
    const out = join(mkdtempSync(join(tmpdir(), 'maskmix-synthetic-')), 'run');
    const run = await runSynthetic(set, { tasks: ['copy'], steps: 40, batchSize: 2, context: 8, vocabSize: 8, evalSequences: 2, outDir: out });
    const rates = readFileSync(join(run.outDir!, 'copy', 'm', 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line).lr as number);
    expect(rates[0]).toBeCloseTo(0.005, 8);
    expect(Math.max(...rates)).toBeCloseTo(0.01, 8);
    expect(rates[39]).toBeLessThan(0.001);
  });

  it('model sets: validated up front, shipped by name, filtered, and turned into LM experiments', () => {
    expect(() => resolveModelSet({ models: [{ name: 'x', model: { kind: 'nope', dModel: 8, nLayers: 1 } }] })).toThrow(/model 'x'.*kind/s);
    expect(() => resolveModelSet({ models: [{ name: 'x', model: { kind: 'mixer', dModel: 8, nLayers: 1, context: 8 } }] })).toThrow(/sets context/);
    expect(() => resolveModelSet({ models: [tiny.models[0], tiny.models[0]] })).toThrow(/two models are named 'mixer'/);
    const small = namedModelSet('small');
    expect(small.models.map((m) => m.name)).toEqual(['mixer', 'repeat-column', 'repeat-row', 'repeat-mixed', 'llama']);
    expect(() => namedModelSet('nope')).toThrow(/no model set named 'nope'/);
    expect(selectModels(small, ['llama']).models).toHaveLength(1);
    expect(() => selectModels(small, ['gpt'])).toThrow(/has no gpt/);
    const experiments = modelSetExperiments(small, { model: { kind: 'mixer', context: 32 }, training: { steps: 10, batchSize: 4, learningRate: 1 } });
    expect(experiments[4]).toMatchObject({ name: 'llama', model: { kind: 'llama', context: 32 }, training: { steps: 10, batchSize: 4, learningRate: 0.002 } });
  });
});
