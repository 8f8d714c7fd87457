// Multi-token prediction (paper §5.2): extra heads predict t+2 … t+k from position t; the next-token path and the
// model's other weights are exactly those of the model without them, training lowers every offset's loss, and
// the reported per-offset losses are what the heads compute.
import { describe, expect, it } from 'vitest';

import { LanguageModel } from '../../lib/model.js';
import type { ModelConfigInput } from '../../lib/model-config.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { batches } from '../../lib/data/batches.js';
import { packSequences } from '../../lib/data/corpus.js';
import { multiTokenLosses } from '../../lib/multi-token.js';
import { trainLoop } from '../../lib/train-loop.js';
import { Trainer } from '../../lib/trainer.js';
import { randomTokens } from '../helpers.js';

const V = 20;
const N = 12;

describe('multi-token prediction', () => {
  for (const config of [
    { kind: 'mixer', vocabSize: V, dModel: 16, nLayers: 2, context: N, seed: 4 },
    { kind: 'llama', vocabSize: V, dModel: 16, nLayers: 2, nHeads: 2, context: N, seed: 4 },
  ] as ModelConfigInput[]) {
    it(`${config.kind}: heads add mtp_heads.* only, start as next-token copies, and training lowers every offset's loss`, async () => {
      const plain = await LanguageModel.create(config);
      const multi = await LanguageModel.create({ ...config, predictTokens: 3 } as ModelConfigInput);
      const plainState = plain.stateDict();
      const multiState = multi.stateDict();
      expect(Object.keys(multiState).filter((k) => !(k in plainState)).sort()).toEqual([
        'mtp_heads.0.bias',
        'mtp_heads.0.weight',
        'mtp_heads.1.bias',
        'mtp_heads.1.weight',
      ]);
      for (const k of Object.keys(plainState)) expect(Array.from(multiState[k].toTypedArray() as Float32Array)).toEqual(Array.from(plainState[k].toTypedArray() as Float32Array));
      expect(multi.config).toMatchObject({ predictTokens: 3 });

      // A periodic sequence: token t+o is a function of token t for every offset, so all heads can learn.
      const tokens = Int32Array.from({ length: 4 * N }, (_, i) => 1 + ((i * 7) % 5));
      const batch = { tokens, batch: 4 };
      const before = await multiTokenLosses(multi, batch);
      expect(before).toHaveLength(3);
      expect(before[0]).toBeCloseTo((await multi.evalLoss(batch)).loss, 5); // offset 1 is the next-token loss
      const trainer = new Trainer(multi, { learningRate: 1e-2, warmupSteps: 0, totalSteps: 30 });
      let first = 0;
      for (let i = 0; i < 30; i++) {
        const r = await trainer.step(batch);
        if (i === 0) first = r.loss!;
      }
      // The trained loss is the sum over offsets.
      expect(first).toBeCloseTo(before[0] + before[1] + before[2], 3);
      const after = await multiTokenLosses(multi, batch);
      console.log(`${config.kind} per-offset loss: ${before.map((l) => l.toFixed(3)).join(' / ')} → ${after.map((l) => l.toFixed(3)).join(' / ')}`);
      for (let o = 0; o < 3; o++) expect(after[o]).toBeLessThan(before[o] - 0.5);
      trainer.dispose();
      plain.dispose();
      multi.dispose();
    });
  }

  it('refuses an answer-only target mask and an autoencoder, whose losses it cannot sum', async () => {
    const model = await LanguageModel.create({ kind: 'mixer', vocabSize: V, dModel: 16, nLayers: 1, context: N, seed: 4, predictTokens: 2 });
    const trainer = new Trainer(model, { learningRate: 1e-3 });
    const tokens = randomTokens(N, V, 3);
    await expect(trainer.step({ tokens, batch: 1 }, { targetMask: Array.from(tokens, (_, i) => i % 2) })).rejects.toThrow(
      /target mask cannot be combined with multi-token prediction/,
    );
    trainer.dispose();
    model.dispose();
    const autoencoder = await LanguageModel.create({ kind: 'autoencoder', vocabSize: V, dModel: 16, nLayers: 1, context: N, seed: 4, predictTokens: 2 });
    const aeTrainer = new Trainer(autoencoder, { learningRate: 1e-3 });
    await expect(aeTrainer.step({ tokens, batch: 1 })).rejects.toThrow(/needs a next-token model, not an autoencoder/);
    aeTrainer.dispose();
    autoencoder.dispose();
  });

  it('a random-token model reports one loss per offset that fits the sequence', async () => {
    const model = await LanguageModel.create({ vocabSize: V, dModel: 16, nLayers: 1, context: N, seed: 1, predictTokens: 4 });
    expect(await multiTokenLosses(model, { tokens: randomTokens(3, V, 2), batch: 1 })).toHaveLength(2);
    model.dispose();
  });

  it('the training loop writes the per-offset validation losses next to valLoss', async () => {
    const model = await LanguageModel.create({ vocabSize: V, dModel: 16, nLayers: 1, context: N, seed: 1, predictTokens: 2 });
    const docs = [Array.from(randomTokens(200, V - 1, 5), (t) => t + 1)];
    const train = packSequences(docs, { context: N, eosId: 0 });
    const validation = packSequences([Array.from(randomTokens(60, V - 1, 6), (t) => t + 1)], { context: N, eosId: 0 });
    const metricsFile = join(mkdtempSync(join(tmpdir(), 'maskmix-mtp-')), 'metrics.jsonl');
    const trainer = new Trainer(model, { learningRate: 1e-3 });
    await trainLoop({ trainer, batches: batches(train, 2, { seed: 1 }), steps: 4, validation, evalEvery: 2, metricsFile });
    const lines = readFileSync(metricsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const evaluated = lines.filter((l) => l.valLoss !== undefined);
    expect(evaluated).toHaveLength(2);
    for (const l of evaluated) {
      expect(l.valLossByOffset).toHaveLength(2);
      expect(l.valLossByOffset[0]).toBeCloseTo(l.valLoss, 4);
    }
    trainer.dispose();
    model.dispose();
  });
});
