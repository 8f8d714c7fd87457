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

  it("evaluates on the run's own held-out data (here its files, not Brown), and refuses --seed for such a run", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-autoencoder-files-'));
    const docs = join(dir, 'docs.jsonl');
    writeFileSync(docs, Array.from({ length: 20 }, (_, i) => JSON.stringify({ text: `document ${i}: the cat sat on mat number ${i} and slept.` })).join('\n'));
    const out = await trainFromConfig({
      name: 'tiny-autoencoder-files',
      model: { kind: 'autoencoder', variant: 'plain', dModel: 16, nLayers: 1, context: 16 },
      training: { steps: 2, batchSize: 2, evalEvery: 2, checkpointEvery: 2 },
      data: { source: 'files', paths: [docs] },
      valFraction: 0.1,
    });
    const evaluated = await maskmix(['autoencoder', 'eval', out, '--sequences', '100000', '--json']).done;
    expect(evaluated.code, evaluated.stderr).toBe(0);
    // Two held-out one-line documents fill a few 16-token sequences; Brown's validation split would fill hundreds.
    expect(JSON.parse(evaluated.stdout).sequences).toBeLessThanOrEqual(6);
    const seeded = await maskmix(['autoencoder', 'eval', out, '--seed', '3']).done;
    expect(seeded.code).toBe(2);
    expect(seeded.stderr).toMatch(/--seed does not apply/);
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
