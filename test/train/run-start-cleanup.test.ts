// A plain training run (trainBrown, quickstart) that fails or is stopped before its first step keeps nothing: a retry
// with the same folder must not find a half-made run (a tokenizer without a model, a model that never trained).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { quickstart } from '../../lib/quickstart.js';
import { makeRunDir, RunStart } from '../../lib/run-dir.js';
import { trainBrown } from '../../lib/train-brown.js';
import { expectCodeAsync } from '../expect-code.js';

const tiny = { documents: 4, vocabSize: 300, dModel: 16, nLayers: 1, context: 16, batchSize: 2, steps: 3 };

function scratch(): string {
  return join(mkdtempSync(join(tmpdir(), 'maskmix-start-')), 'run');
}

describe('a run stopped or failing before training', () => {
  it('train: Ctrl-C before the first step is ABORTED and removes the folder it made', async () => {
    const outDir = scratch();
    await expectCodeAsync(trainBrown({ ...tiny, outDir, device: 'cpu', signal: AbortSignal.abort() }), 'ABORTED');
    expect(existsSync(outDir)).toBe(false);
  });

  it('quickstart: the same, and an empty folder the user made is kept (empty)', async () => {
    const outDir = scratch();
    mkdirSync(outDir);
    await expectCodeAsync(quickstart({ ...tiny, outDir, signal: AbortSignal.abort() }), 'ABORTED');
    expect(readdirSync(outDir)).toEqual([]);
  });

  it('train: a model that cannot be built leaves no tokenizer.json behind', async () => {
    const outDir = scratch();
    await expectCodeAsync(trainBrown({ ...tiny, dModel: 0, outDir, device: 'cpu' }), 'CONFIG_INVALID');
    expect(existsSync(outDir)).toBe(false);
  });

  it('RunStart: a failure or a stop before the first training step frees what it owned and removes the folder', async () => {
    for (const outcome of ['fails', 'stopped'] as const) {
      const made = makeRunDir(scratch());
      const controller = new AbortController();
      const start = new RunStart(made, controller.signal);
      let disposed = 0;
      await start.setUp(async () => {
        writeFileSync(join(made.dir, 'tokenizer.json'), '{}');
        return start.own({ dispose: () => disposed++ });
      });
      const training =
        outcome === 'fails'
          ? start.train(() => Promise.reject(new Error('out of memory at step 1')), () => 0)
          : start.train(async () => controller.abort(), () => 0);
      if (outcome === 'fails') await expect(training).rejects.toThrow('out of memory at step 1');
      else await expectCodeAsync(training, 'ABORTED');
      expect(disposed, outcome).toBe(1);
      expect(existsSync(made.dir), outcome).toBe(false);
    }
  });

  it('RunStart: a failure after the first step keeps the run as it is', async () => {
    const made = makeRunDir(scratch());
    const start = new RunStart(made);
    let disposed = 0;
    await start.setUp(async () => {
      writeFileSync(join(made.dir, 'tokenizer.json'), '{}');
      return start.own({ dispose: () => disposed++ });
    });
    await expect(start.train(() => Promise.reject(new Error('NaN at step 7')), () => 6)).rejects.toThrow('NaN at step 7');
    expect(disposed).toBe(0);
    expect(readdirSync(made.dir)).toEqual(['tokenizer.json']);
  });
});
