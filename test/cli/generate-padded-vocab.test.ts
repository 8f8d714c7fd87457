// A model whose vocabulary is larger than its tokenizer's (a padded vocabSize) may sample ids with no text:
// `maskmix generate` keeps them in `tokens`, leaves them out of the text with one warning, and does not fail.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { saveModel } from '../../lib/checkpoint.js';
import { LanguageModel } from '../../lib/model.js';
import { trainBpe } from '../../lib/tokenizer/bpe-trainer.js';
import { toTokenizerJson } from '../../lib/tokenizer/tokenizer-json.js';
import { Tokenizer } from '../../lib/tokenizer/tokenizer.js';
import { maskmix } from '../cli-runner.js';

describe('generate with a model vocabulary larger than the tokenizer', () => {
  it('streams the text of the ids the tokenizer has and warns once about the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-padded-vocab-'));
    const tokenizer = Tokenizer.fromJSON(toTokenizerJson(trainBpe(['the jury said the county was fair', 'the jury was fair'], { vocabSize: 270 })));
    tokenizer.save(join(dir, 'tokenizer.json'));
    // Untrained, 200 extra ids: nearly half of the uniform-ish draws have no text.
    const model = await LanguageModel.create({ vocabSize: tokenizer.vocabSize + 200, dModel: 8, nLayers: 1, context: 16 });
    await saveModel(model, dir);
    model.dispose();

    const r = await maskmix('generate', dir, '--prompt', 'the jury', '--max-tokens', '20', '--temperature', '2', '--top-k', '0', '--seed', '3', '--json');
    expect(r.code).toBe(0);
    const { tokens, text } = JSON.parse(r.stdout) as { tokens: number[]; text: string };
    expect(tokens.some((id) => id >= tokenizer.vocabSize)).toBe(true);
    expect(typeof text).toBe('string');
    expect(r.stderr.match(/\[warn\] token id \d+ has no text/g)).toHaveLength(1);
  });
});
