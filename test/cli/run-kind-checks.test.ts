// Commands check what a run can do before they read its data or print anything: autoencoder commands need an
// autoencoder, generate needs a next-token model, retrieval's --length must fit the model's context.
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { saveModel } from '../../lib/checkpoint.js';
import { LanguageModel } from '../../lib/model.js';
import { maskmix, tinyQuickstartRunBeforeAll } from '../cli-runner.js';

describe('run kind and size checked up front', () => {
  const paths = tinyQuickstartRunBeforeAll('maskmix-kind-');
  let autoencoderRun: string;
  let pairs: string;

  beforeAll(async () => {
    // An untrained autoencoder with the quickstart's tokenizer is a complete run folder for these checks.
    autoencoderRun = join(paths.dir, 'ae');
    const model = await LanguageModel.create({ kind: 'autoencoder', variant: 'plain', vocabSize: 300, dModel: 16, nLayers: 1, context: 32, seed: 0 });
    await saveModel(model, autoencoderRun);
    model.dispose();
    copyFileSync(join(paths.runDir, 'tokenizer.json'), join(autoencoderRun, 'tokenizer.json'));
    pairs = join(paths.dir, 'pairs.jsonl');
    writeFileSync(pairs, Array.from({ length: 4 }, (_, i) => JSON.stringify({ query: `query ${i}`, passage: `passage ${i}.` })).join('\n'));
  }, 60_000);

  it('`autoencoder eval|reconstruct` on a mixer run say it needs an autoencoder (exit 2), not that run.json lacks an experiment', async () => {
    for (const args of [['eval', paths.runDir], ['reconstruct', paths.runDir, '--text', 'hi']]) {
      const r = await maskmix('autoencoder', ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/holds a 'mixer' model; 'maskmix autoencoder (eval|reconstruct)' needs an autoencoder run/);
      expect(r.stderr).not.toMatch(/run\.json/);
    }
  });

  it('`generate` on an autoencoder run prints nothing on stdout and fails with one line (exit 2)', async () => {
    const r = await maskmix('generate', autoencoderRun, '--prompt', 'hi');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/holds an autoencoder, which reconstructs its input.*maskmix autoencoder reconstruct/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('`retrieval eval|train --length` beyond the context is a usage error before any embedding', async () => {
    for (const command of ['eval', 'train']) {
      const r = await maskmix('retrieval', command, paths.runDir, '--data', pairs, '--length', '100');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--length 100 is longer than the context of .*'s model \(32 tokens\): give --length ≤ 32/);
      expect(r.stderr).not.toMatch(/\[embed\]|\[eval\]/);
    }
  });

  it('`retrieval indirect-train --length` beyond the context is a usage error before any embedding', async () => {
    const r = await maskmix('retrieval', 'indirect-train', paths.runDir, '--pairs', pairs, '--length', '100', '--out', join(paths.dir, 'indirect-out'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--length 100 is longer than the context of .*'s model \(32 tokens\): give --length ≤ 32/);
    expect(r.stderr).not.toMatch(/\[embed\]|\[eval\]|pairs: a retrieval/);
    expect(existsSync(join(paths.dir, 'indirect-out'))).toBe(false);
  });
});
