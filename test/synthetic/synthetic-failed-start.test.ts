// A synthetic run that cannot start leaves no folders: bad devices are refused before any folder is made, and a
// model that fails to start takes its (task, model) folder with it, and the results folder when nothing else is in it.
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { MaskmixError } from '../../lib/errors.js';
import { LanguageModel } from '../../lib/model.js';
import { resolveModelSet } from '../../lib/synthetic/model-set.js';
import { runSynthetic } from '../../lib/synthetic/run-synthetic.js';
import { maskmix } from '../cli-runner.js';

const set = resolveModelSet({
  models: [
    { name: 'a', model: { kind: 'mixer', dModel: 8, nLayers: 1 } },
    { name: 'b', model: { kind: 'mixer', dModel: 8, nLayers: 1 } },
  ],
});
const small = { tasks: ['copy'] as const, steps: 2, batchSize: 2, context: 8, vocabSize: 8, evalSequences: 2 };

/** Makes the n-th LanguageModel.create (1-based) fail as a device out of memory would. */
function failCreate(n: number): void {
  const create = LanguageModel.create.bind(LanguageModel);
  let calls = 0;
  vi.spyOn(LanguageModel, 'create').mockImplementation(async (config) => {
    if (++calls === n) throw new MaskmixError('OUT_OF_MEMORY', 'simulated: the model does not fit');
    return create(config);
  });
}

describe('synthetic: a failed start keeps nothing', () => {
  afterEach(() => void vi.restoreAllMocks());

  it('`maskmix synthetic --device cpu:0` and `--device cuda:99` fail before making --out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-synbad-'));
    const bad = await maskmix('synthetic', '--set', 'small', '--only', 'mixer', '--tasks', 'copy', '--steps', '2', '--device', 'cpu:0', '--out', join(dir, 'a'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/device must be 'cpu', 'cuda' or 'cuda:N'/);
    const missing = await maskmix('synthetic', '--set', 'small', '--only', 'mixer', '--tasks', 'copy', '--steps', '2', '--device', 'cuda:99', '--out', join(dir, 'b'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/device cuda:99 was asked for/);
    expect(readdirSync(dir)).toEqual([]);
  }, 60_000);

  it("an entry's own device is checked before any folder is made, not only --device", async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'maskmix-synbad-')), 'out');
    const ownDevice = resolveModelSet({
      models: [
        { name: 'a', model: { kind: 'mixer', dModel: 8, nLayers: 1 } },
        { name: 'b', model: { kind: 'mixer', dModel: 8, nLayers: 1, device: 'cuda:99' } },
      ],
    });
    const create = vi.spyOn(LanguageModel, 'create');
    await expect(runSynthetic(ownDevice, { ...small, device: 'cpu', outDir: out })).rejects.toMatchObject({ code: 'CUDA_UNAVAILABLE', message: expect.stringMatching(/device cuda:99 was asked for/) });
    expect(create).not.toHaveBeenCalled();
    expect(existsSync(out)).toBe(false);
  });

  it('a first model that fails to start removes the results folder it made', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'maskmix-synbad-')), 'out');
    failCreate(1);
    await expect(runSynthetic(set, { ...small, outDir: out })).rejects.toMatchObject({ code: 'OUT_OF_MEMORY' });
    expect(existsSync(out)).toBe(false);
    // An --out that existed (empty) stays, empty.
    mkdirSync(out);
    failCreate(1);
    await expect(runSynthetic(set, { ...small, outDir: out })).rejects.toMatchObject({ code: 'OUT_OF_MEMORY' });
    expect(readdirSync(out)).toEqual([]);
  });

  it('a later model that fails to start removes only its own folder', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'maskmix-synbad-')), 'out');
    failCreate(2);
    await expect(runSynthetic(set, { ...small, outDir: out })).rejects.toMatchObject({ code: 'OUT_OF_MEMORY' });
    expect(readdirSync(join(out, 'copy'))).toEqual(['a']);
    expect(existsSync(join(out, 'copy', 'a', 'metrics.jsonl'))).toBe(true);
  });
});
