// Async calls on one model (its own, its decoders' and its trainers') run one at a time in call order and are never
// refused; the model's fixed facts answer during a training step; synchronous methods that need the weights answer
// BUSY while any call is pending (lib/model.ts, native/bindings/call_queue.h).
import { describe, expect, it } from 'vitest';

import { Decoder } from '../../lib/decode/decoder.js';
import { generate } from '../../lib/generate.js';
import { LanguageModel } from '../../lib/model.js';
import { Trainer } from '../../lib/trainer.js';

const CONFIG = { vocabSize: 64, dModel: 32, nLayers: 2, context: 32, seed: 0 } as const;
const tokens = Int32Array.from({ length: 32 * 4 }, (_, i) => 1 + ((i * 13) % 63));

describe('calls on one model', () => {
  it('five concurrent forward/logProbs/evalLoss calls all succeed, settle in call order and equal solo calls', async () => {
    const m = await LanguageModel.create(CONFIG);
    const solo = {
      forward: Array.from((await m.forward(tokens, 4)).toTypedArray() as Float32Array),
      logProbs: Array.from(await m.logProbs(tokens, 4)),
      loss: (await m.evalLoss({ tokens, batch: 4 })).loss,
    };
    for (let round = 0; round < 5; round++) {
      const settled: number[] = [];
      const calls = [
        m.forward(tokens, 4),
        m.forward(tokens, 4),
        m.logProbs(tokens, 4),
        m.evalLoss({ tokens, batch: 4 }),
        m.forward(tokens, 4),
      ].map((p, i) => p.finally(() => settled.push(i)));
      const [f0, f1, lp, ev, f4] = await Promise.all(calls);
      expect(settled).toEqual([0, 1, 2, 3, 4]);
      for (const f of [f0, f1, f4] as Awaited<ReturnType<typeof m.forward>>[]) expect(Array.from(f.toTypedArray() as Float32Array)).toEqual(solo.forward);
      expect(Array.from(lp as Float32Array)).toEqual(solo.logProbs);
      expect((ev as { loss: number }).loss).toBe(solo.loss);
    }
    m.dispose();
  });

  it('steps and forwards interleave in call order: a forward made between two steps sees exactly one', async () => {
    const m = await LanguageModel.create(CONFIG);
    const reference = await LanguageModel.create(CONFIG);
    const trainer = new Trainer(m, { learningRate: 1e-2 });
    const [, between] = await Promise.all([trainer.step({ tokens, batch: 4 }), m.forward(tokens, 4), trainer.step({ tokens, batch: 4 })]);
    await new Trainer(reference, { learningRate: 1e-2 }).step({ tokens, batch: 4 });
    expect(Array.from(between.toTypedArray() as Float32Array)).toEqual(Array.from((await reference.forward(tokens, 4)).toTypedArray() as Float32Array));
    expect(trainer.stepsTaken).toBe(2);
  });

  it('two decoders and the model itself, called at once, all succeed', async () => {
    const m = await LanguageModel.create(CONFIG);
    const a = new Decoder(m);
    const b = new Decoder(m);
    await Promise.all([a.prefill([1, 2, 3]), b.prefill([4, 5, 6])]);
    for (let i = 0; i < 10; i++) {
      const results = await Promise.allSettled([a.step(7), b.step(8), m.forward([1, 2, 3])]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    }
    expect([a.position, b.position]).toEqual([13, 13]);
  });

  it('concurrent generate() calls all succeed and equal the same calls made alone', async () => {
    const m = await LanguageModel.create(CONFIG);
    const options = (seed: number) => ({ maxNewTokens: 12, seed });
    const alone = [await generate(m, [1, 2, 3], options(1)), await generate(m, [4, 5], options(2)), await generate(m, [7], options(3))];
    const together = await Promise.all([generate(m, [1, 2, 3], options(1)), generate(m, [4, 5], options(2)), generate(m, [7], options(3))]);
    expect(together).toEqual(alone);
  });

  it('during a training step the fixed facts answer, a Decoder can be made, and stateDict/dispose answer BUSY', async () => {
    const m = await LanguageModel.create(CONFIG);
    const trainer = new Trainer(m, { learningRate: 1e-3 });
    const numParameters = m.numParameters;
    const step = trainer.step({ tokens, batch: 4 });
    // The step is pending (queued or running) until it settles, so these answers do not depend on timing.
    expect(m.config).toMatchObject({ vocabSize: 64, dModel: 32, context: 32 });
    expect(m.numParameters).toBe(numParameters);
    expect(m.cachedDecoding).toBe(true);
    expect(m.predictsNextToken).toBe(true);
    const decoder = new Decoder(m);
    expect(decoder.position).toBe(0);
    expect(() => m.stateDict()).toThrow(expect.objectContaining({ code: 'BUSY' }));
    expect(() => m.dispose()).toThrow(expect.objectContaining({ code: 'BUSY' }));
    const forward = m.forward([1, 2, 3]); // queued behind the step, not refused
    await step;
    await forward;
    expect(Object.keys(m.stateDict()).length).toBeGreaterThan(0);
    m.dispose();
  });
});
