/** Opens a run directory for use: its model (weights loaded) and its tokenizer. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { loadModel, requireDirectory } from './checkpoint.js';
import { MaskmixError } from './errors.js';
import type { LanguageModel } from './model.js';
import { Tokenizer } from './tokenizer/tokenizer.js';

export interface OpenRun {
  dir: string;
  model: LanguageModel;
  tokenizer: Tokenizer;
}

/** @throws MaskmixError NOT_FOUND for a missing directory or file, CHECKPOINT_INVALID for a bad checkpoint. */
export async function openRun(dir: string, options: { device?: string } = {}): Promise<OpenRun> {
  requireDirectory(dir);
  const tokenizerPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokenizerPath)) throw new MaskmixError('NOT_FOUND', `${dir} has no tokenizer.json: not a maskmix run directory`);
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  const model = await loadModel(dir, options);
  const modelVocab = model.config.vocabSize;  // read before dispose(), which makes the config unreadable
  if (modelVocab < tokenizer.vocabSize) {
    model.dispose();
    throw new MaskmixError(
      'CHECKPOINT_INVALID',
      `${dir}: its tokenizer.json has ${tokenizer.vocabSize} tokens but its model only ${modelVocab} (vocabSize): the two come from different runs`,
    );
  }
  return { dir, model, tokenizer };
}
