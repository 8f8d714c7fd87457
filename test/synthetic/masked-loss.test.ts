// Trainer.step's targetMask: the loss is the mean cross-entropy over masked targets only, equal to a hand
// computation from the model's logits before the step.
import { describe, expect, it } from 'vitest';

import { LanguageModel } from '../../lib/model.js';
import { scoreAnswers } from '../../lib/synthetic/synthetic-eval.js';
import { syntheticBatch, syntheticTask } from '../../lib/synthetic/synthetic-tasks.js';
import { Trainer } from '../../lib/trainer.js';

const V = 20;
const N = 11;

async function model(kind: 'mixer' | 'llama' | 'repeat') {
  const sizes = { vocabSize: V, dModel: 16, nLayers: 1, context: N, seed: 4, padId: 0 };
  if (kind === 'llama') return LanguageModel.create({ kind, ...sizes, nHeads: 2 });
  if (kind === 'repeat') return LanguageModel.create({ kind, ...sizes, nHeads: 2, structure: 'mixed' });
  return LanguageModel.create({ kind, ...sizes });
}

/** Mean −log softmax of every non-pad next token (what the loss is without a mask). */
function fullLoss(logits: Float32Array, tokens: Int32Array, batch: number): number {
  let sum = 0;
  let count = 0;
  for (let b = 0; b < batch; b++) {
    for (let j = 1; j < N; j++) {
      const target = tokens[b * N + j];
      if (target === 0) continue;
      const row = logits.subarray((b * N + j - 1) * V, (b * N + j) * V);
      const max = Math.max(...row);
      sum += Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0)) + max - row[target];
      count++;
    }
  }
  return sum / count;
}

describe('masked training loss', () => {
  for (const kind of ['mixer', 'llama', 'repeat'] as const) {
    it(`${kind}: the step's loss is the mean over answer tokens only`, async () => {
      const m = await model(kind);
      const batch = syntheticBatch(syntheticTask('recall', { context: N, vocabSize: V }), 3, 9);
      const logits = (await m.forward(batch.tokens, batch.batch)).toTypedArray() as Float32Array;
      const { lossSum, answers } = scoreAnswers(logits, batch, V);
      expect(answers).toBe(3 * 2);
      const masked = lossSum / answers;
      const trainer = new Trainer(m, { learningRate: 1e-3 });
      const r = await trainer.step(batch, { targetMask: batch.answerMask });
      expect(Math.abs(r.lastLoss! - masked)).toBeLessThan(1e-5 * Math.max(1, masked));
      // Without the mask the same batch scores every non-pad target: a different number.
      expect(Math.abs(fullLoss(logits, batch.tokens, batch.batch) - masked)).toBeGreaterThan(1e-3);
      trainer.dispose();
      m.dispose();
    });
  }

  it('rejects a mask of the wrong length and a mask that marks nothing', async () => {
    const m = await model('mixer');
    const trainer = new Trainer(m, {});
    const batch = syntheticBatch(syntheticTask('copy', { context: N, vocabSize: V }), 2, 1);
    await expect(trainer.step(batch, { targetMask: new Uint8Array(3) })).rejects.toThrow(/one entry per token/);
    await expect(trainer.step(batch, { targetMask: new Uint8Array(batch.tokens.length) })).rejects.toThrow(/no target tokens/);
    expect(trainer.stepsTaken).toBe(0);
    trainer.dispose();
    m.dispose();
  });
});
