// Fixed-compute comparisons and sweeps: the same data for every run, each stopped by the same budget, one report.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { parseBudget } from '../../lib/cli/budget.js';
import { compare, formatCompareTable, sweepExperiments } from '../../lib/experiment/compare.js';
import type { ExperimentConfigInput } from '../../lib/experiment/experiment-config.js';
import { trainingFlops } from '../../lib/flops.js';
import { resolveModelConfig } from '../../lib/model-config.js';

const base = (model: Record<string, unknown>, name: string): ExperimentConfigInput => ({
  name,
  model: { ...model, context: 32 },
  training: { steps: 200, batchSize: 4, learningRate: 3e-3, evalEvery: 100, evalSequences: 4, checkpointEvery: 100 },
  data: { source: 'brown', documents: 20 },
  tokenizer: { vocabSize: 300 },
  seed: 1,
});

describe('compare and sweep', () => {
  it('trains each experiment to the same FLOP budget on the same data and writes one report', async () => {
    const mixer = base({ kind: 'mixer', dModel: 32, nLayers: 2 }, 'mixer');
    const llama = base({ kind: 'llama', dModel: 32, nLayers: 2, nHeads: 2 }, 'llama');
    const flopsPerStep = trainingFlops(resolveModelConfig({ kind: 'mixer', vocabSize: 300, dModel: 32, nLayers: 2, context: 32 }), 4 * 32);
    const budget = { flops: 6 * flopsPerStep };
    const result = await compare([mixer, llama], { outDir: join(mkdtempSync(join(tmpdir(), 'maskmix-cmp-')), 'cmp'), budget });
    expect(result.runs.map((r) => r.name)).toEqual(['mixer', 'llama']);
    for (const run of result.runs) {
      expect(run.stoppedBy).toBe('budget');
      expect(run.flops).toBeGreaterThanOrEqual(budget.flops);
      expect(Number.isFinite(run.valLoss)).toBe(true);
    }
    expect(result.runs[0].steps).toBe(6);
    // One tokenizer for all runs: the same validation tokens.
    expect(readFileSync(join(result.runs[1].runDir, 'tokenizer.json'), 'utf8')).toBe(readFileSync(join(result.runs[0].runDir, 'tokenizer.json'), 'utf8'));
    expect(existsSync(result.report)).toBe(true);
    expect(readFileSync(result.report, 'utf8')).toMatch(/mixer[\s\S]*llama/);
    expect(formatCompareTable(result.runs)).toMatch(/^run\s+params\s+steps/);
  }, 300_000);

  it('refuses experiments on different data', async () => {
    const a = base({ kind: 'mixer', dModel: 16, nLayers: 1 }, 'a');
    const b = { ...base({ kind: 'mixer', dModel: 16, nLayers: 1 }, 'b'), seed: 2 };
    await expect(compare([a, b], { outDir: mkdtempSync(join(tmpdir(), 'maskmix-cmp-')) })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('expands a grid into named experiments', () => {
    const runs = sweepExperiments(base({ kind: 'mixer', dModel: 16, nLayers: 1 }, 'b'), {
      'training.learningRate': [1e-3, 2e-3],
      'model.dModel': [16, 32],
    });
    expect(runs.map((r) => r.name)).toEqual(['learningRate=0.001,dModel=16', 'learningRate=0.001,dModel=32', 'learningRate=0.002,dModel=16', 'learningRate=0.002,dModel=32']);
    expect((runs[3].model as { dModel: number }).dModel).toBe(32);
    expect(runs[3].training.learningRate).toBe(2e-3);
  });

  it('parses budgets and rejects bad ones', () => {
    expect(parseBudget('90s')).toEqual({ minutes: 1.5 });
    expect(parseBudget('5m')).toEqual({ minutes: 5 });
    expect(parseBudget('1.5h')).toEqual({ minutes: 90 });
    expect(parseBudget('2e15')).toEqual({ flops: 2e15 });
    expect(() => parseBudget('soon')).toThrow(/--budget must be a time/);
  });
});
