// Cached decoding of the plain masked mixer (its past mixing inputs) and of the Llama baseline (KV cache) equals
// the full forward (SPEC §6.2); the full-prefix mode too. And the Decoder's contract: batches, cache sizes,
// sampling, clone/reset, typed errors (CONTEXT_FULL, BUSY, DISPOSED, bad tokens).
import { describe, expect, it } from 'vitest';

import { Decoder, type DecoderMode } from '../../lib/decode/decoder.js';
import { LanguageModel } from '../../lib/model.js';
import type { ModelConfigInput } from '../../lib/model-config.js';
import { randomizeRepeatWeights, randomTokens } from '../helpers.js';
import { decodeInPieces, expectClose, fullLogits } from './parity.js';

const V = 40;
const MIXER: ModelConfigInput = { kind: 'mixer', vocabSize: V, dModel: 16, nLayers: 3, context: 20, seed: 8 };
const LLAMA: ModelConfigInput = { kind: 'llama', vocabSize: V, dModel: 16, nLayers: 2, nHeads: 2, context: 20, seed: 8 };
const code = (c: string) => expect.objectContaining({ code: c });

describe('decoding the masked mixer and llama', () => {
  const cases: Array<[string, ModelConfigInput]> = [
    ['masked mixer (fused blocks)', MIXER],
    ['masked mixer (module blocks)', { ...MIXER, fused: false } as ModelConfigInput],
    ['llama (fused ops)', LLAMA],
    ['llama (module ops)', { ...LLAMA, fused: false } as ModelConfigInput],
  ];
  for (const [name, config] of cases) {
    it(`${name}: the cache gives the full forward's logits, token by token, chunked, after clone and reset`, async () => {
      const model = await LanguageModel.create(config);
      const n = 20;
      const batch = 3;
      const tokens = randomTokens(batch * n, V, 5);
      const full = await fullLogits(model, tokens, batch);
      const decoder = new Decoder(model, { batch });
      expect(decoder.mode).toBe('cached');
      expectClose(await decodeInPieces(decoder, tokens, n, Array(n).fill(1)), full, `${name} token by token`);
      decoder.reset();
      expectClose(await decodeInPieces(decoder, tokens, n, [6, 1, 1, 9, 1, 2]), full, `${name} chunked`);

      // A clone taken mid-way finishes like the original, bit for bit.
      const a = new Decoder(model);
      await a.prefill(tokens.subarray(0, 11));
      const b = await a.clone();
      const restA = (await a.prefill(tokens.subarray(11, n), { logits: 'all' })).logits.toTypedArray();
      const restB = (await b.prefill(tokens.subarray(11, n), { logits: 'all' })).logits.toTypedArray();
      expect(Array.from(restB as Float32Array)).toEqual(Array.from(restA as Float32Array));
      expectClose(restA as Float32Array, full.subarray(11 * V, n * V), `${name} after clone`);
      model.dispose();
    });

    it(`${name}: full-prefix mode gives the same logits by re-running the prefix`, async () => {
      const model = await LanguageModel.create(config);
      const tokens = randomTokens(20, V, 6);
      const full = await fullLogits(model, tokens);
      const decoder = new Decoder(model, { mode: 'full-prefix' });
      expect(decoder.mode).toBe('full-prefix');
      expectClose(await decodeInPieces(decoder, tokens, 20, [5, 1, 1, 13]), full, `${name} full prefix`);
      expect(decoder.cacheBytes).toBe(20 * 8); // the tokens it keeps, int64
      model.dispose();
    });
  }

  it('clone({ copies }) continues one prefilled prompt several ways, each equal to its own full forward', async () => {
    const kinds: Array<[string, ModelConfigInput, DecoderMode]> = [
      ['mixer', MIXER, 'cached'],
      ['llama', LLAMA, 'cached'],
      ['repeat mixed', { kind: 'repeat', vocabSize: V, dModel: 16, nLayers: 2, context: 20, seed: 3 }, 'cached'],
      ['repeat combined', { kind: 'repeat', vocabSize: V, dModel: 16, nLayers: 2, context: 20, seed: 3, structure: 'combined' }, 'cached'],
      ['repeat toeplitz', { kind: 'repeat', vocabSize: V, dModel: 16, nLayers: 2, context: 20, seed: 3, structure: 'toeplitz' }, 'cached'],
      ['full prefix', MIXER, 'full-prefix'],
    ];
    for (const [name, config, mode] of kinds) {
      const model = await LanguageModel.create(config);
      if (config.kind === 'repeat') randomizeRepeatWeights(model, 4);
      const prompt = randomTokens(8, V, 1);
      const one = new Decoder(model, { mode });
      await one.prefill(prompt);
      const three = await one.clone({ copies: 3 });
      expect(three.batch).toBe(3);
      expect(three.position).toBe(8);
      const continuations = [randomTokens(4, V, 10), randomTokens(4, V, 11), randomTokens(4, V, 12)];
      const decoded: Float32Array[] = [[], [], []].map(() => new Float32Array(4 * V));
      for (let i = 0; i < 4; i++) {
        const logits = (await three.step(continuations.map((c) => c[i]))).logits.toTypedArray() as Float32Array;
        for (let b = 0; b < 3; b++) decoded[b].set(logits.subarray(b * V, (b + 1) * V), i * V);
      }
      for (let b = 0; b < 3; b++) {
        const full = await fullLogits(model, Int32Array.from([...prompt, ...continuations[b]]));
        expectClose(decoded[b], full.subarray(8 * V), `${name} copy ${b}`);
      }
      expect(one.position).toBe(8); // the original is untouched
      await expect(one.clone({ copies: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      model.dispose();
    }
  });

  it('cache bytes grow with the position for the masked mixer and llama (O(n·d) per layer)', async () => {
    for (const config of [MIXER, LLAMA]) {
      const model = await LanguageModel.create({ ...config, context: 256 } as ModelConfigInput);
      const decoder = new Decoder(model, { batch: 2 });
      await decoder.prefill(randomTokens(2 * 16, V, 1));
      const at16 = decoder.cacheBytes;
      await decoder.prefill(randomTokens(2 * 240, V, 2));
      const at256 = decoder.cacheBytes;
      const layers = config.nLayers;
      const perPosition = (config.kind === 'llama' ? 2 : 1) * layers * 2 * 16 * 4; // (K and V | inputs) · L · batch · d · 4 bytes
      expect(at16).toBe(16 * perPosition);
      expect(at256).toBe(256 * perPosition);
      model.dispose();
    }
  });

  it('samples inside prefill and step with the given draw, as nextToken does', async () => {
    const model = await LanguageModel.create(MIXER);
    const tokens = randomTokens(9, V, 3);
    const decoder = new Decoder(model);
    for (const [uniform, temperature] of [[0.1, 1], [0.73, 0.7], [0.5, 0]] as const) {
      decoder.reset();
      const r = await decoder.prefill(tokens, { sampling: { temperature, topK: 10, uniforms: [uniform] } });
      const expected = await model.nextToken(tokens, { temperature, topK: 10, uniform });
      expect(r.sampled!.tokens[0]).toBe(expected.token);
      expect(r.sampled!.logProbs[0]).toBeCloseTo(expected.logProb, 4);
    }
    await expect(decoder.step(1, { sampling: { uniforms: [1.5] } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(decoder.step(1, { sampling: { uniforms: [] } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    model.dispose();
  });

  it('answers misuse with typed errors, never a crash', async () => {
    const model = await LanguageModel.create(MIXER);
    const decoder = new Decoder(model, { batch: 2 });
    await expect(decoder.prefill([1, 2, 3])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' }); // not 2 rows
    await expect(decoder.prefill([])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(decoder.step([1, 2, 3, 4])).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    await expect(decoder.step([1, V])).rejects.toMatchObject({ code: 'TOKEN_OUT_OF_RANGE' });
    expect(() => new Decoder(model, { batch: 0 })).toThrow(code('INVALID_ARGUMENT'));
    expect(() => new Decoder(model, { mode: 'sideways' as never })).toThrow(code('INVALID_ARGUMENT'));
    expect(() => new Decoder(model, { weights: 'int4' as never })).toThrow(code('INVALID_ARGUMENT'));
    // int8 weights are read only by the GPU's fused greedy kernels: a CPU model says so instead of ignoring it.
    expect(() => new Decoder(model, { weights: 'int8' })).toThrow(/CUDA device/);

    // The plain masked mixer's context: its mixing matrices are n×n.
    await decoder.prefill(randomTokens(2 * 20, V, 1));
    await expect(decoder.step([1, 2])).rejects.toMatchObject({ code: 'CONTEXT_FULL', message: expect.stringMatching(/context×context/) });

    // One call at a time per session: a second while one runs answers BUSY.
    decoder.reset();
    const pending = decoder.prefill(randomTokens(2 * 10, V, 2));
    expect(() => decoder.position).toThrow(code('BUSY'));
    await expect(decoder.step([1, 2])).rejects.toMatchObject({ code: 'BUSY' });
    await pending;
    expect(decoder.position).toBe(10);

    decoder.dispose();
    expect(() => decoder.position).toThrow(code('DISPOSED'));
    await expect(decoder.step([1, 2])).rejects.toMatchObject({ code: 'DISPOSED' });

    const other = new Decoder(model);
    model.dispose();
    await expect(other.step(1)).rejects.toMatchObject({ code: 'DISPOSED' });
    expect(() => new Decoder(model)).toThrow(code('DISPOSED'));
  });
});
