// `maskmix train --config` trains an autoencoder like any model, and `maskmix autoencoder eval|reconstruct` read
// the run: JSON that adds up, a one-line error for text longer than the context, help that says how to train one.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { maskmix } from '../dist/launch-helpers.js';

/** `maskmix train --config` on an experiment (BPE 300, seed 0) in a fresh temp folder; → the run directory. */
async function trainFromConfig(experiment: Record<string, unknown>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `maskmix-${experiment.name}-`));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ ...experiment, tokenizer: { vocabSize: 300 }, seed: 0 }));
  const out = join(dir, 'run');
  const train = await maskmix(['train', '--config', config, '--out', out]).done;
  expect(train.code, train.stderr).toBe(0);
  return out;
}

describe('maskmix autoencoder', () => {
  it('trains from a config, then evaluates and reconstructs from the run directory', async () => {
    const out = await trainFromConfig({
      name: 'tiny-autoencoder',
      model: { kind: 'autoencoder', variant: 'memory', dModel: 32, nLayers: 1, context: 32 },
      training: { steps: 20, batchSize: 4, learningRate: 0.003, warmupSteps: 2, evalEvery: 10, checkpointEvery: 10 },
      data: { source: 'brown', documents: 40 },
    });

    const evaluated = await maskmix(['autoencoder', 'eval', out, '--sequences', '8', '--json']).done;
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const stats = JSON.parse(evaluated.stdout);
    expect(stats.sequences).toBe(8);
    expect(stats.tokens).toBeGreaterThan(0);
    expect(stats.accuracy).toBeGreaterThanOrEqual(0);
    expect(stats.accuracy).toBeLessThanOrEqual(1);
    expect(Number.isFinite(stats.loss)).toBe(true);

    const text = 'The jury said it was fair.';
    const rebuilt = await maskmix(['autoencoder', 'reconstruct', out, '--text', text, '--json']).done;
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const r = JSON.parse(rebuilt.stdout);
    expect(r.reconstructed.length).toBe(r.tokens.length);
    expect(r.accuracy).toBeCloseTo(r.reconstructed.filter((t: number, i: number) => t === r.tokens[i]).length / r.tokens.length, 10);

    const long = await maskmix(['autoencoder', 'reconstruct', out, '--text', 'word '.repeat(40)]).done;
    expect(long.code).not.toBe(0);
    expect(long.stderr).toMatch(/this model encodes at most 32/);
  }, 300_000);

  it("trains blocks 'llama' from a config and evaluates it the same way", async () => {
    const out = await trainFromConfig({
      name: 'tiny-autoencoder-llama',
      model: { kind: 'autoencoder', variant: 'plain', blocks: 'llama', nHeads: 2, dModel: 16, nLayers: 1, context: 16 },
      training: { steps: 4, batchSize: 2, learningRate: 0.003, warmupSteps: 1, evalEvery: 4, checkpointEvery: 4 },
      data: { source: 'brown', documents: 20 },
    });
    const evaluated = await maskmix(['autoencoder', 'eval', out, '--sequences', '4', '--json']).done;
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(JSON.parse(evaluated.stdout)).toMatchObject({ sequences: 4 });
    const rebuilt = await maskmix(['autoencoder', 'reconstruct', out, '--text', 'The jury said', '--json']).done;
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const r = JSON.parse(rebuilt.stdout);
    expect(r.reconstructed.length).toBe(r.tokens.length);
  }, 300_000);

  it('--help says how to train one', async () => {
    const help = await maskmix(['autoencoder', '--help']).done;
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/kind": "autoencoder"/);
    expect(help.stdout).toMatch(/eval/);
    expect(help.stdout).toMatch(/reconstruct/);
  });
});
