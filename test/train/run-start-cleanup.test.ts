// A plain training run (trainBrown, quickstart) that fails or is stopped before its first step keeps nothing: a retry
// with the same folder must not find a half-made run (a tokenizer without a model, a model that never trained).
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { quickstart } from '../../lib/quickstart.js';
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
});
