// A start that cannot succeed fails before it writes anything, and one that fails after making its run folder
// removes it again, so the retry is not told the folder "already holds files". compare and sweep check every run
// before training the first.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { compare, sweepExperiments } from '../../lib/experiment/compare.js';
import type { ExperimentConfigInput } from '../../lib/experiment/experiment-config.js';
import { runExperiment } from '../../lib/experiment/run-experiment.js';
import { native } from '../../lib/native.js';
import { maskmix } from '../cli-runner.js';

const TINY: ExperimentConfigInput = {
  name: 'tiny-mixer',
  model: { kind: 'mixer', dModel: 16, nLayers: 1, context: 16 },
  training: { steps: 4, batchSize: 4, evalEvery: 2, evalSequences: 8, checkpointEvery: 2 },
  data: { source: 'brown', documents: 6 },
  tokenizer: { vocabSize: 300 },
  seed: 0,
};
const temp = () => mkdtempSync(join(tmpdir(), 'maskmix-failed-start-'));
const hasCuda = native().runtimeInfo().cudaAvailable;

describe('a failed start', () => {
  it('train --lr 0 fails before making the run folder', async () => {
    const out = join(temp(), 'lr0');
    const r = await maskmix('train', '--steps', '1', '--width', '16', '--depth', '1', '--context', '16', '--vocab', '300', '--documents', '4', '--out', out, '--lr', '0', '--no-progress');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--lr must be positive/);
    expect(existsSync(out)).toBe(false);
  }, 30_000);

  it('a bad model config, a missing data file or an absent GPU leave no run folder', async () => {
    const dir = temp();
    await expect(runExperiment({ ...TINY, model: { ...TINY.model, dModel: -32 } }, { runDir: join(dir, 'a') })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(runExperiment({ ...TINY, data: { source: 'files', paths: [join(dir, 'missing.jsonl')] } }, { runDir: join(dir, 'b') })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    if (!hasCuda) await expect(runExperiment({ ...TINY, device: 'cuda' }, { runDir: join(dir, 'c') })).rejects.toMatchObject({ code: 'CUDA_UNAVAILABLE' });
    expect(readdirSync(dir)).toEqual([]);
  }, 30_000);

  it('removes the folder it made when the start fails after making it, and leaves a folder that was there', async () => {
    const dir = temp();
    writeFileSync(join(dir, 'one.txt'), 'a single document cannot be split into train and validation');
    const oneDocument: ExperimentConfigInput = { ...TINY, data: { source: 'files', paths: [join(dir, 'one.txt')] } };
    await expect(runExperiment(oneDocument, { runDir: join(dir, 'new') })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(existsSync(join(dir, 'new'))).toBe(false);
    mkdirSync(join(dir, 'mine'));
    await expect(runExperiment(oneDocument, { runDir: join(dir, 'mine') })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(readdirSync(join(dir, 'mine'))).toEqual([]);
  }, 30_000);

  it('compare rejects two runs with one name, and a sweep with a bad value, before training any', async () => {
    const dir = temp();
    await expect(compare([TINY, TINY], { outDir: join(dir, 'cmp') })).rejects.toThrow(/share the run folder/);
    const grid = sweepExperiments(TINY, { 'model.dModel': [16, -1] });
    await expect(compare(grid, { outDir: join(dir, 'sweep') })).rejects.toThrow(/experiment 2 \(dModel=-1\)/);
    expect(readdirSync(dir)).toEqual([]);
  }, 30_000);
});
