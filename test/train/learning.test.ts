// Training on a small slice of the Brown corpus must learn real structure: the validation loss ends well below
// the unigram entropy of that slice (the best a model ignoring context can do).
import { describe, expect, it } from 'vitest';

import { batches } from '../../lib/data/batches.js';
import { loadBrownCorpus } from '../../lib/data/brown.js';
import { packSequences, splitDocuments, unigramEntropy } from '../../lib/data/corpus.js';
import { LanguageModel } from '../../lib/model.js';
import { toTokenizerJson } from '../../lib/tokenizer/tokenizer-json.js';
import { trainBpe } from '../../lib/tokenizer/bpe-trainer.js';
import { Tokenizer } from '../../lib/tokenizer/tokenizer.js';
import { evaluate, trainLoop } from '../../lib/train-loop.js';
import { Trainer } from '../../lib/trainer.js';

describe('learning', () => {
  it('lowers validation loss well below the unigram entropy of a small corpus slice', async () => {
    const docs = loadBrownCorpus().slice(0, 60);
    const split = splitDocuments(docs, { valFraction: 0.1, seed: 1 });
    const tokenizer = Tokenizer.fromJSON(toTokenizerJson(trainBpe(split.train, { vocabSize: 512 })));
    const context = 64;
    const train = packSequences(await tokenizer.encodeBatch(split.train), { context, eosId: 0 });
    const val = packSequences(await tokenizer.encodeBatch(split.val), { context, eosId: 0 });
    const entropy = unigramEntropy(val.data.subarray(0, val.realTokens), tokenizer.vocabSize);

    const model = await LanguageModel.create({ vocabSize: tokenizer.vocabSize, dModel: 128, nLayers: 2, context, seed: 1 });
    const before = await evaluate(model, val, { batchSize: 32 });
    const trainer = new Trainer(model, { learningRate: 3e-3, warmupSteps: 20, totalSteps: 250 });
    const result = await trainLoop({ trainer, batches: batches(train, 16, { seed: 1 }), steps: 250, validation: val, evalBatchSize: 32 });

    expect(before).toBeGreaterThan(entropy); // an untrained model is worse than unigram
    expect(result.finalValLoss!).toBeLessThan(entropy - 0.5);
    console.log(`unigram entropy ${entropy.toFixed(3)}; val loss ${before.toFixed(3)} → ${result.finalValLoss!.toFixed(3)}`);
    model.dispose();
  }, 300_000);
});
