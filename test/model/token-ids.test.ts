// Token ids given as plain arrays or numbers are checked, never converted silently (2**32+5 → 5, NaN → pad).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Decoder } from '../../lib/decode/decoder.js';
import { generate } from '../../lib/generate.js';
import { invertInput } from '../../lib/inversion.js';
import type { LanguageModel } from '../../lib/model.js';
import { scoreTokens } from '../../lib/score.js';
import { checkTokenId, tokenIds } from '../../lib/token-ids.js';
import { expectCode } from '../expect-code.js';
import { tinyModel } from '../helpers.js';

const invalid = (index: RegExp) => expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(index) });
const outOfRange = (index: RegExp) => expect.objectContaining({ code: 'TOKEN_OUT_OF_RANGE', message: expect.stringMatching(index) });

describe('tokenIds (lib/token-ids.ts)', () => {
  it('passes an Int32Array unchanged and converts exact integer ids', () => {
    const ids = Int32Array.of(1, 2, 3);
    expect(tokenIds(ids)).toBe(ids);
    expect([...tokenIds([0, 5, 2 ** 31 - 1])]).toEqual([0, 5, 2 ** 31 - 1]);
    expect([...tokenIds(7)]).toEqual([7]);
    expect([...tokenIds(new Float64Array([1, 2]))]).toEqual([1, 2]);
  });

  it('names the bad value and its index', () => {
    expect(() => tokenIds([1, 2, Number.NaN])).toThrow(invalid(/tokens\[2\] is NaN/));
    expect(() => tokenIds([1, 2.7])).toThrow(invalid(/tokens\[1\] is 2\.7/));
    expect(() => tokenIds(['a', 'b'])).toThrow(invalid(/tokens\[0\] is "a"/));
    expect(() => tokenIds([1, 2, 2 ** 32 + 5])).toThrow(outOfRange(/tokens\[2\] = 4294967301/));
    expect(() => tokenIds([1, 2 ** 31])).toThrow(outOfRange(/tokens\[1\]/));
    expect(() => tokenIds([3, -1])).toThrow(outOfRange(/tokens\[1\] = -1/));
    expect(() => tokenIds(new Float64Array([1, 1e10]))).toThrow(outOfRange(/tokens\[1\]/));
    expect(() => tokenIds(1.9, 'first')).toThrow(invalid(/first is 1\.9/));
    expect(() => tokenIds(new BigInt64Array([1n]))).toThrow(invalid(/tokens\[0\] is 1n \(a BigInt\)/));
  });

  it('refuses what is not a list of ids', () => {
    for (const bad of ['abc', null, undefined, { length: 3 }, new DataView(new ArrayBuffer(4))]) expectCode(() => tokenIds(bad), 'INVALID_ARGUMENT');
  });

  it('checkTokenId bounds by the vocabulary when given', () => {
    expect(checkTokenId(63, 'stopToken', 64)).toBe(63);
    expect(() => checkTokenId(64, 'stopToken', 64)).toThrow(outOfRange(/stopToken = 64 is outside \[0, 64\)/));
  });
});

describe('every entry point checks plain token ids', () => {
  let model: LanguageModel;
  beforeAll(async () => {
    model = await tinyModel();
  });
  afterAll(() => model.dispose());

  it('forward, logProbs and nextToken', async () => {
    await expect(model.forward([1, 2, 2 ** 32 + 5])).rejects.toMatchObject({ code: 'TOKEN_OUT_OF_RANGE' });
    await expect(model.forward([1, 2, Number.NaN])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/tokens\[2\] is NaN/) });
    await expect(model.forward([1, 2.7])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(model.forward(['a', 'b'] as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(model.logProbs([1, 2.5, 3])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(model.nextToken([1, Number.NaN])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    // Valid plain arrays still work; out-of-vocabulary stays the native TOKEN_OUT_OF_RANGE.
    const logits = await model.forward([1, 2, 3]);
    expect(logits.shape[1]).toBe(3);
    logits.dispose();
    await expect(model.forward([1, model.config.vocabSize])).rejects.toMatchObject({ code: 'TOKEN_OUT_OF_RANGE' });
  });

  it('Decoder.prefill, step and greedy', async () => {
    const decoder = new Decoder(model);
    await expect(decoder.prefill('abc' as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(decoder.prefill([1, 2 ** 32 + 5])).rejects.toMatchObject({ code: 'TOKEN_OUT_OF_RANGE' });
    expect(decoder.position).toBe(0);
    await expect(decoder.step(1.9)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/1\.9/) });
    await expect(decoder.step(Number.NaN)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(decoder.greedy(1.7, 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/first is 1\.7/) });
    expect(decoder.position).toBe(0);
    const r = await decoder.step(1);
    r.logits.dispose();
    expect(decoder.position).toBe(1);
    decoder.dispose();
  });

  it('generate and scoreTokens', async () => {
    await expect(generate(model, 'hello' as never, { maxNewTokens: 2 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/prompt/) });
    await expect(generate(model, [1, Number.NaN], { maxNewTokens: 2 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/prompt\[1\] is NaN/) });
    await expect(scoreTokens(model, [1, Number.NaN, 3])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/tokens\[1\] is NaN/) });
    await expect(scoreTokens(model, [model.config.vocabSize])).rejects.toMatchObject({ code: 'TOKEN_OUT_OF_RANGE' });
    expect((await scoreTokens(model, [1, 2, 3])).tokens).toEqual([1, 2, 3]);
    expect(await generate(model, [1, 2], { maxNewTokens: 2 })).toHaveLength(2);
  });

  it('invertInput', async () => {
    await expect(invertInput(model, [1, Number.NaN], { iterations: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/tokens\[1\] is NaN/) });
    expect((await invertInput(model, [1, 2], { iterations: 1 })).tokens).toHaveLength(2);
  });
});
