// Options that were silently accepted (or failed with a raw TypeError/ENOENT) are now typed MaskmixErrors.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { saveModel } from '../../lib/checkpoint.js';
import { Decoder } from '../../lib/decode/decoder.js';
import { generate } from '../../lib/generate.js';
import type { LanguageModel } from '../../lib/model.js';
import { trainLoop, type BatchSource } from '../../lib/train-loop.js';
import { Trainer } from '../../lib/trainer.js';
import { tinyModel } from '../helpers.js';

const fails = (code: string, message?: RegExp) => expect.objectContaining({ code, ...(message ? { message: expect.stringMatching(message) } : {}) });

/** A source of the given token arrays (batch 2 × context 6), then nothing. */
function source(arrays: Int32Array[]): BatchSource {
  const it = arrays[Symbol.iterator]();
  return { batchSize: 2, context: 6, next: () => it.next() };
}
const batchOf = (n: number) => Int32Array.from({ length: n }, (_, i) => 1 + (i % 40));

describe('API validation', () => {
  let model: LanguageModel;
  beforeAll(async () => {
    model = await tinyModel();
  });
  afterAll(() => model.dispose());

  it('evalLoss, embedTokens and Decoder share the precision check', async () => {
    const batch = { tokens: batchOf(12), batch: 2 };
    await expect(model.evalLoss(batch, { precision: 'bogus' as never })).rejects.toThrow(fails('INVALID_ARGUMENT', /precision must be 'auto' or 'fp32', got "bogus"/));
    await expect(model.embedTokens(batch, { precision: 'bf16' as never })).rejects.toThrow(fails('INVALID_ARGUMENT', /precision/));
    expect(() => new Decoder(model, { precision: 'bogus' as never })).toThrow(fails('INVALID_ARGUMENT', /precision/));
    expect((await model.evalLoss(batch, { precision: 'fp32' })).targets).toBeGreaterThan(0);
  });

  it('generate checks seed and stopToken', async () => {
    for (const seed of [-1, 1.5, Number.NaN, 2 ** 32]) await expect(generate(model, [1], { maxNewTokens: 2, seed })).rejects.toThrow(fails('INVALID_ARGUMENT', /seed/));
    await expect(generate(model, [1], { maxNewTokens: 2, stopToken: 999 })).rejects.toThrow(fails('TOKEN_OUT_OF_RANGE', /stopToken = 999 is outside \[0, 50\)/));
    await expect(generate(model, [1], { maxNewTokens: 2, stopToken: 1.5 })).rejects.toThrow(fails('INVALID_ARGUMENT', /stopToken/));
    expect(await generate(model, [1], { maxNewTokens: 2, seed: 2 ** 32 - 1, stopToken: 49 })).not.toHaveLength(0);
  });

  it('null or missing options are INVALID_ARGUMENT, not a TypeError', async () => {
    expect(() => new Decoder(model, null as never)).toThrow(fails('INVALID_ARGUMENT', /Decoder options/));
    await expect(generate(model, [1], undefined as never)).rejects.toThrow(fails('INVALID_ARGUMENT', /maxNewTokens/));
  });

  it('Decoder sampling without uniforms is INVALID_ARGUMENT, not a TypeError', async () => {
    const decoder = new Decoder(model);
    await expect(decoder.prefill([1, 2, 3], { sampling: {} as never })).rejects.toThrow(fails('INVALID_ARGUMENT', /uniforms/));
    await expect(decoder.step(1, { sampling: { uniforms: 0.5 } as never })).rejects.toThrow(fails('INVALID_ARGUMENT', /uniforms/));
    decoder.dispose();
  });

  it('trainLoop refuses bad steps, a missing metrics folder and a bad BatchSource', async () => {
    const trainer = new Trainer(model, { learningRate: 1e-3 });
    for (const steps of [-1, Number.NaN, 1.5]) await expect(trainLoop({ trainer, batches: source([batchOf(12)]), steps })).rejects.toThrow(fails('INVALID_ARGUMENT', /steps/));
    const missing = join(mkdtempSync(join(tmpdir(), 'maskmix-apival-')), 'nodir', 'x');
    await expect(trainLoop({ trainer, batches: source([batchOf(12)]), steps: 1, metricsFile: join(missing, 'm.jsonl') })).rejects.toThrow(fails('NOT_FOUND', /nodir\/x/));
    expect(trainer.stepsTaken).toBe(0); // refused before training
    await expect(trainLoop({ trainer, batches: [batchOf(12)][Symbol.iterator]() as never, steps: 1 })).rejects.toThrow(fails('INVALID_ARGUMENT', /BatchSource/));
    await expect(trainLoop({ trainer, batches: source([batchOf(10)]), steps: 1 })).rejects.toThrow(fails('SHAPE_MISMATCH', /gave 10 tokens.*= 12/));
    await expect(trainLoop({ trainer, batches: source([[1, 2] as never]), steps: 1 })).rejects.toThrow(fails('DTYPE_MISMATCH'));
    await expect(trainLoop({ trainer, batches: source([batchOf(12)]), steps: 3 })).rejects.toThrow(fails('INVALID_ARGUMENT', /ended after 1 batches/));
    const result = await trainLoop({ trainer, batches: source([batchOf(12), batchOf(12)]), steps: 2 });
    expect(result.steps).toBe(2);
    expect(result.tokensSeen).toBe(24);
    trainer.dispose();
  });

  it('saveModel of a disposed model leaves no folder', async () => {
    const gone = await tinyModel();
    gone.dispose();
    const dir = join(mkdtempSync(join(tmpdir(), 'maskmix-apival-')), 'ck');
    await expect(saveModel(gone, dir)).rejects.toThrow(fails('DISPOSED'));
    expect(existsSync(dir)).toBe(false);
    await saveModel(model, dir);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).vocabSize).toBe(50);
  });
});
