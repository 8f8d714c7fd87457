// Bad input gives a typed MaskmixError and never a crash.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { MaskmixError } from '../../lib/errors.js';
import { LanguageModel } from '../../lib/model.js';
import { saveModel } from '../../lib/checkpoint.js';
import { openRun } from '../../lib/run-loader.js';
import { scoreTokens } from '../../lib/score.js';
import { Tensor } from '../../lib/tensor.js';
import { Tokenizer } from '../../lib/tokenizer/tokenizer.js';
import { trainBpe } from '../../lib/tokenizer/bpe-trainer.js';
import { toTokenizerJson } from '../../lib/tokenizer/tokenizer-json.js';
import { Trainer } from '../../lib/trainer.js';
import { tinyModel } from '../helpers.js';

const code = (c: string) => expect.objectContaining({ code: c });

describe('typed errors for bad input', () => {
  it('wrong dtype', async () => {
    const model = await tinyModel();
    await expect(model.handle.forward(new Float32Array(12) as unknown as Int32Array, 1)).rejects.toMatchObject({ code: 'DTYPE_MISMATCH' });
    expect(() => Tensor.from(new Float32Array(4), [4], 'int32')).toThrow(code('DTYPE_MISMATCH'));
    expect(() => Tensor.from(new Float32Array(4), [4], 'float128' as never)).toThrow(code('INVALID_ARGUMENT'));
    model.dispose();
  });

  it('wrong shape', async () => {
    const model = await tinyModel();
    expect(() => Tensor.from(new Float32Array(6), [2, 2])).toThrow(code('SHAPE_MISMATCH'));
    await expect(model.forward(new Int32Array(13))).rejects.toMatchObject({ code: 'SHAPE_MISMATCH', message: expect.stringMatching(/longer than the model's context of 12/) });
    await expect(model.forward(new Int32Array(10), 3)).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    const trainer = new Trainer(model);
    await expect(trainer.step({ tokens: new Int32Array(2), batch: 2 })).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    model.dispose();
  });

  it('token ids ≥ vocab or < 0', async () => {
    const model = await tinyModel();
    await expect(model.forward([1, 2, 50])).rejects.toMatchObject({ code: 'TOKEN_OUT_OF_RANGE', message: expect.stringMatching(/tokens\[2\] = 50/) });
    await expect(model.forward([1, -1])).rejects.toMatchObject({ code: 'TOKEN_OUT_OF_RANGE' });
    await expect(new Trainer(model).step({ tokens: Int32Array.from([0, 1, 99, 3]), batch: 1 })).rejects.toBeInstanceOf(MaskmixError);
    model.dispose();
  });

  it('empty text and empty token lists', async () => {
    const model = await tinyModel();
    await expect(scoreTokens(model, [])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(model.forward([])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(model.nextToken([])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    model.dispose();
  });

  it('disposed tensors, models and trainers', async () => {
    const t = Tensor.from(new Float32Array([1, 2, 3]), [3]);
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(() => t.toTypedArray()).toThrow(code('DISPOSED'));
    expect(() => t.shape).toThrow(code('DISPOSED'));
    t.dispose(); // twice is fine

    const model = await tinyModel();
    const trainer = new Trainer(model);
    model.dispose();
    expect(() => new Trainer(model)).toThrow(code('DISPOSED')); // a new trainer on a disposed model (was a segfault)
    await expect(model.forward([1, 2])).rejects.toMatchObject({ code: 'DISPOSED' });
    await expect(trainer.step({ tokens: new Int32Array(12), batch: 1 })).rejects.toMatchObject({ code: 'DISPOSED' });
    expect(() => model.stateDict()).toThrow(code('DISPOSED'));
  });

  it('missing run directory, and a directory that is not a run', async () => {
    await expect(openRun('/no/such/run')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(openRun(mkdtempSync(join(tmpdir(), 'maskmix-empty-')))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it("a run whose tokenizer outgrows its model's vocabulary names both sizes", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-mismatch-'));
    const tokenizer = Tokenizer.fromJSON(toTokenizerJson(trainBpe(['the jury said the county was fair', 'the jury was fair'], { vocabSize: 270 })));
    tokenizer.save(join(dir, 'tokenizer.json'));
    const model = await LanguageModel.create({ vocabSize: tokenizer.vocabSize - 1, dModel: 4, nLayers: 1, context: 4 });
    await saveModel(model, dir);
    model.dispose();
    await expect(openRun(dir)).rejects.toMatchObject({
      code: 'CHECKPOINT_INVALID',
      message: expect.stringMatching(new RegExp(`tokenizer.json has ${tokenizer.vocabSize} tokens but its model only ${tokenizer.vocabSize - 1}`)),
    });
  });

  it('invalid configs name the field', async () => {
    await expect(LanguageModel.create({ vocabSize: 10, dModel: -1, nLayers: 1, context: 4 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/dModel: dModel must be positive/),
    });
    await expect(LanguageModel.create({ vocabSize: 10, dModel: 4, nLayers: 1, context: 4, padId: 10 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/padId/),
    });
    const model = await tinyModel();
    expect(() => new Trainer(model, { learningRate: 0 })).toThrow(code('CONFIG_INVALID'));
    model.dispose();
  });

  it('CUDA asked for where there is none is CUDA_UNAVAILABLE, never a silent CPU run', async () => {
    await expect(LanguageModel.create({ vocabSize: 10, dModel: 4, nLayers: 1, context: 4, device: 'cuda' })).rejects.toMatchObject({
      code: 'CUDA_UNAVAILABLE',
      message: expect.stringMatching(/device 'cuda' asked for/),
    });
  });

  it('an out-of-memory error carries the bytes asked for and free', () => {
    const e = new MaskmixError(
      'CUDA_OOM',
      'CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.19 GiB of which 1.50 GiB is free.',
    );
    expect(e.bytesRequested).toBe(2 * 2 ** 30);
    expect(e.bytesFree).toBe(1.5 * 2 ** 30);
  });

  it('a sync call while an async call runs answers BUSY instead of blocking', async () => {
    const model = await tinyModel();
    const pending = model.forward(new Int32Array(12));
    let busy: unknown;
    try {
      model.stateDict();
    } catch (error) {
      busy = error;
    }
    await pending;
    // The async call may already have finished on a fast machine; when it had not, the answer is BUSY.
    if (busy) expect(busy).toMatchObject({ code: 'BUSY' });
    model.dispose();
  });
});
