// An autoencoder reconstructs its input from an embedding of the whole sequence: scoring and generation, whose
// contract is next-token prediction, refuse it instead of returning reconstruction scores or garbage text.
import { describe, expect, it } from 'vitest';

import { Decoder, generate, LanguageModel, scoreTokens } from '../../lib/index.js';
import { expectCode, expectCodeAsync } from '../expect-code.js';

describe('autoencoders are not next-token models', () => {
  it('scoreTokens, Decoder and generate refuse them; a mixer of the same size is accepted', async () => {
    const autoencoder = await LanguageModel.create({ kind: 'autoencoder', vocabSize: 16, dModel: 8, nLayers: 1, context: 4 });
    expect(autoencoder.predictsNextToken).toBe(false);
    await expectCodeAsync(scoreTokens(autoencoder, [1, 2, 3]), 'INVALID_ARGUMENT');
    expectCode(() => new Decoder(autoencoder), 'INVALID_ARGUMENT');
    await expectCodeAsync(generate(autoencoder, [1, 2], { maxNewTokens: 2, temperature: 0 }), 'INVALID_ARGUMENT');
    autoencoder.dispose();

    const mixer = await LanguageModel.create({ kind: 'mixer', vocabSize: 16, dModel: 8, nLayers: 1, context: 4 });
    expect(mixer.predictsNextToken).toBe(true);
    expect((await scoreTokens(mixer, [1, 2, 3])).logprobs).toHaveLength(2);
    mixer.dispose();
  });
});
