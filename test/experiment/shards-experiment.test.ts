// Pre-tokenised shards as an experiment's data: `maskmix tokenize` writes them, a run streams from them, and a
// resumed run continues exactly (the shard loader's position is part of the checkpoint).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { loadBrownCorpus } from '../../lib/data/brown.js';
import type { ExperimentConfigInput } from '../../lib/experiment/experiment-config.js';
import { runExperiment } from '../../lib/experiment/run-experiment.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'maskmix.js');

describe('experiments on token shards', () => {
  it('tokenizes JSONL into shards from the CLI and trains from them; a resume continues exactly', async () => {
    const root = mkdtempSync(join(tmpdir(), 'maskmix-shards-'));
    const jsonl = join(root, 'docs.jsonl');
    writeFileSync(jsonl, loadBrownCorpus().slice(0, 40).map((text) => JSON.stringify({ text })).join('\n') + '\n');
    const shards = join(root, 'shards');
    await run('node', [BIN, 'tokenize', jsonl, '--vocab', '300', '--val-fraction', '0.1', '--out', shards, '--no-progress']);
    // Again into the same folder: refused before the tokenizer is trained (minutes on a large corpus).
    const again = await run('node', [BIN, 'tokenize', jsonl, '--vocab', '300', '--out', shards, '--no-progress']).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already holds files/);
    expect(again.stderr).not.toMatch(/training a/);

    const config: ExperimentConfigInput = {
      model: { kind: 'mixer', dModel: 32, nLayers: 1, context: 32 },
      training: { steps: 8, batchSize: 4, learningRate: 3e-3, evalEvery: 4, evalSequences: 4, checkpointEvery: 4 },
      data: { source: 'shards', dir: shards },
      seed: 2,
    };
    const full = await runExperiment(config, { runDir: join(root, 'full') });
    expect(full.steps).toBe(8);
    expect(Number.isFinite(full.valLoss)).toBe(true);
    const controller = new AbortController();
    await runExperiment(config, { runDir: join(root, 'part'), signal: controller.signal, onStep: (p) => p.step === 3 && controller.abort() });
    await runExperiment(undefined, { runDir: join(root, 'part'), resume: true });
    const losses = (dir: string) => readFileSync(join(root, dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.step !== undefined);
    const a = new Map(losses('full').map((m) => [m.step, m.loss]));
    const b = new Map(losses('part').map((m) => [m.step, m.loss]));
    for (let step = 1; step <= 8; step++) expect(b.get(step), `step ${step}`).toBe(a.get(step));
    // One line per step, the stop's final evaluation and the resume included.
    expect(losses('part').map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  }, 300_000);
});
