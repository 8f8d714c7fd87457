// The Trainer's cudaGraph option (the whole step captured as one CUDA graph) is checked against the step-by-step
// trainer on a GPU by scripts/gpu/check-graphed-training.mjs. Here, on the CPU: where it cannot apply it is refused
// with a clear error instead of being silently ignored, and leaving it off trains as before.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { LanguageModel } from '../../lib/model.js';
import { RetrievalMixer, RetrievalTrainer } from '../../lib/retrieval/retrieval-mixer.js';
import { Trainer, trainConfigSchema } from '../../lib/trainer.js';
import { maskmix } from '../cli-runner.js';
import { expectCode } from '../expect-code.js';
import { randomTokens, tinyModel } from '../helpers.js';

describe('Trainer cudaGraph option', () => {
  it('is off by default and refused for a model on the CPU', async () => {
    expect(trainConfigSchema.parse({}).cudaGraph).toBe(false);
    const model = await tinyModel();
    expectCode(() => new Trainer(model, { cudaGraph: true }), 'CONFIG_INVALID');
    // Off, a trainer of the same model trains.
    const trainer = new Trainer(model, { cudaGraph: false, precision: 'fp32' });
    const result = await trainer.step({ tokens: randomTokens(2 * model.config.context, model.config.vocabSize, 5), batch: 2 });
    expect(Number.isFinite(result.loss)).toBe(true);
    trainer.dispose();
    model.dispose();
  });

  it('is refused for a kind whose graphed steps are not checked against the step-by-step ones', async () => {
    const model = await LanguageModel.create({ kind: 'linear', vocabSize: 40, dModel: 16, nLayers: 1, context: 8 });
    expect(() => new Trainer(model, { cudaGraph: true })).toThrow(/'mixer', 'llama', 'repeat' and 'autoencoder' models, not 'linear'/);
    expectCode(() => new Trainer(model, { cudaGraph: true }), 'CONFIG_INVALID');
    model.dispose();
  });

  it('must be a boolean, and is not an option of the retrieval trainer', async () => {
    const model = await tinyModel();
    expectCode(() => new Trainer(model, { cudaGraph: 'yes' as unknown as boolean }), 'CONFIG_INVALID');
    model.dispose();
    const retrieval = await RetrievalMixer.create({ dModel: 8, nLayers: 1, context: 6, ffMultiplier: 2 });
    expectCode(() => new RetrievalTrainer(retrieval, { cudaGraph: true } as never), 'CONFIG_INVALID');
    retrieval.dispose();
  });

  it('train --cuda-graph with --device cpu is a usage error before any corpus, tokenizer or run folder is made', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'maskmix-cuda-graph-')), 'run');
    const r = await maskmix('train', '--cuda-graph', '--device', 'cpu', '--steps', '2', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--cuda-graph captures single-GPU steps/);
    expect(r.stdout + r.stderr).not.toMatch(/\[corpus\]/);
    expect(existsSync(out)).toBe(false);
    // --device auto (the default) on this machine, which has no GPU: refused as early, for want of one.
    const auto = await maskmix('train', '--cuda-graph', '--steps', '2', '--out', out);
    expect(auto.code).not.toBe(0);
    expect(auto.stderr).toMatch(/--cuda-graph needs a GPU/);
    expect(existsSync(out)).toBe(false);
    const help = await maskmix('train', '--help');
    expect(help.stdout).toMatch(/--cuda-graph/);
  }, 30_000);
});
