/**
 * The data of an experiment: documents (Brown, or local text/JSONL/Parquet files), split by document, a tokenizer
 * (trained on the training split, or loaded), and both splits packed into sequences of the model's context.
 */
import { prepareBrownDataset } from '../data/brown-dataset.js';
import { packSequences, splitDocuments, type PackedSequences } from '../data/corpus.js';
import { readDocuments } from '../data/read-documents.js';
import { MaskmixError } from '../errors.js';
import { END_OF_TEXT, trainBpe } from '../tokenizer/bpe-trainer.js';
import { toTokenizerJson } from '../tokenizer/tokenizer-json.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import type { ExperimentConfig } from './experiment-config.js';

export interface ExperimentData {
  tokenizer: Tokenizer;
  eosId: number;
  trainData: PackedSequences;
  valData: PackedSequences;
  documents: { train: number; val: number };
}

/** Prepares the data; `tokenizerJson` (a resumed or compared run's tokenizer) overrides the config's tokenizer. */
export async function prepareExperimentData(config: ExperimentConfig, context: number, tokenizerJson?: string): Promise<ExperimentData> {
  const given = tokenizerJson ?? ('path' in config.tokenizer ? Tokenizer.fromFile(config.tokenizer.path).toJSON() : undefined);
  const vocabSize = 'vocabSize' in config.tokenizer ? config.tokenizer.vocabSize : 0;
  if (config.data.source === 'brown') {
    const d = await prepareBrownDataset({
      documents: config.data.documents,
      vocabSize,
      context,
      seed: config.seed,
      valFraction: config.valFraction,
      tokenizerJson: given,
    });
    return { tokenizer: d.tokenizer, eosId: d.eosId, trainData: d.trainData, valData: d.valData, documents: { train: d.trainDocuments, val: d.valDocuments } };
  }
  const texts: string[] = [];
  for await (const doc of readDocuments(config.data.paths, { field: config.data.field })) texts.push(doc.text);
  if (texts.length < 2) throw new MaskmixError('INVALID_ARGUMENT', `data.paths hold ${texts.length} document(s); a train/validation split needs at least 2`);
  const split = splitDocuments(texts, { valFraction: config.valFraction, seed: config.seed });
  const tokenizer = given !== undefined ? Tokenizer.fromJSON(given) : Tokenizer.fromJSON(toTokenizerJson(trainBpe(split.train, { vocabSize })));
  const eosId = tokenizer.tokenToId(END_OF_TEXT) ?? tokenizer.eosId;
  return {
    tokenizer,
    eosId,
    trainData: packSequences(await tokenizer.encodeBatch(split.train), { context, eosId }),
    valData: packSequences(await tokenizer.encodeBatch(split.val), { context, eosId }),
    documents: { train: split.train.length, val: split.val.length },
  };
}
