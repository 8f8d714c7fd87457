// Generation streams through a Decoder: for the same seed it produces the same tokens as re-running the whole
// prefix for every token, for every kind, also once the text outgrows the context.
import { describe, expect, it } from 'vitest';

import { TokenStream } from '../../lib/decode/token-stream.js';
import { generate } from '../../lib/generate.js';
import { LanguageModel } from '../../lib/model.js';
import type { ModelConfigInput } from '../../lib/model-config.js';
import { randomizeRepeatWeights, randomTokens } from '../helpers.js';

const V = 40;
const configs: Array<[string, ModelConfigInput]> = [
  ['mixer', { kind: 'mixer', vocabSize: V, dModel: 16, nLayers: 2, context: 12, seed: 1 }],
  ['repeat', { kind: 'repeat', vocabSize: V, dModel: 16, nLayers: 2, context: 12, seed: 1 }],
  ['repeat toeplitz', { kind: 'repeat', vocabSize: V, dModel: 16, nLayers: 2, context: 12, seed: 1, structure: 'toeplitz' }],
  ['llama', { kind: 'llama', vocabSize: V, dModel: 16, nLayers: 2, nHeads: 2, context: 12, seed: 1 }],
];

describe('generation through the decoder', () => {
  for (const [name, config] of configs) {
    it(`${name}: cached decoding gives the full-prefix tokens, greedy and sampled, past the context`, async () => {
      const model = await LanguageModel.create(config);
      if (config.kind === 'repeat') randomizeRepeatWeights(model, 3);
      const prompt = Array.from(randomTokens(5, V, 2));
      // 5 + 20 tokens: the window slides past the context of 12 (re-read each token from there on).
      for (const options of [{ temperature: 0 }, { temperature: 0.9, topK: 20, seed: 7 }, { temperature: 1.2, topP: 0.9, seed: 8 }]) {
        const cached = await generate(model, prompt, { maxNewTokens: 20, ...options });
        const full = await generate(model, prompt, { maxNewTokens: 20, ...options, decoder: 'full-prefix' });
        expect(cached, JSON.stringify(options)).toEqual(full);
        expect(cached).toHaveLength(20);
      }
      model.dispose();
    });
  }

  it('a prompt longer than the context starts from its last context tokens', async () => {
    const model = await LanguageModel.create(configs[1][1]);
    const prompt = Array.from(randomTokens(30, V, 4));
    const long = await generate(model, prompt, { maxNewTokens: 3, temperature: 0 });
    const tail = await generate(model, prompt.slice(-12), { maxNewTokens: 3, temperature: 0 });
    expect(long).toEqual(tail);
    model.dispose();
  });

  it('streams as an async iterable, stops at the stop token, and honours an abort signal', async () => {
    const model = await LanguageModel.create(configs[1][1]);
    const prompt = [1, 2, 3];
    const all = await generate(model, prompt, { maxNewTokens: 8, temperature: 0 });
    const stopAt = all[3];
    const seen: number[] = [];
    for await (const t of new TokenStream(model, prompt, { maxNewTokens: 8, temperature: 0, stopToken: stopAt })) {
      expect(t.logProb).toBeLessThanOrEqual(0);
      seen.push(t.token);
    }
    expect(seen).toEqual(all.slice(0, all.indexOf(stopAt) + 1));

    const controller = new AbortController();
    const stream = new TokenStream(model, prompt, { maxNewTokens: 8, signal: controller.signal });
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const t of stream) {
          got.push(t.token);
          if (got.length === 2) controller.abort();
        }
      })(),
    ).rejects.toThrow();
    expect(got).toHaveLength(2);
    // Breaking out early disposes the stream's decoder, leaving the model free for other calls.
    for await (const _ of new TokenStream(model, prompt, { maxNewTokens: 5 })) break;
    expect(model.stateDict()).toBeDefined();
    await expect(generate(model, [], { maxNewTokens: 2 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    model.dispose();
  });
});
