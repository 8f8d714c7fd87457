/**
 * The data of an experiment: documents (Brown, or local text/JSONL/Parquet files), split by document, a tokenizer
 * (trained on the training split, or loaded), and both splits packed into sequences of the model's context.
 */
import { join } from 'node:path';

import { batches } from '../data/batches.js';
import { prepareBrownDataset } from '../data/brown-dataset.js';
import { packSequences, splitDocuments, type PackedSequences } from '../data/corpus.js';
import { ShardBatchLoader } from '../data/shards/shard-batches.js';
import type { BatchSource } from '../train-loop.js';
import { readDocuments } from '../data/read-documents.js';
import { MaskmixError } from '../errors.js';
import { END_OF_TEXT, trainBpe } from '../tokenizer/bpe-trainer.js';
import { toTokenizerJson } from '../tokenizer/tokenizer-json.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import type { ExperimentConfig } from './experiment-config.js';

/** Training batches that can say where they are and go back there (a resume). */
export interface ResumableBatches extends BatchSource {
  readonly position: unknown;
  seek(position: never): void;
  close?(): void;
}

export interface ExperimentData {
  tokenizer: Tokenizer;
  eosId: number;
  /** Training batches in seeded order, epoch after epoch. */
  trainBatches(batchSize: number, seed: number): ResumableBatches;
  valData: PackedSequences;
  /** Documents per split, where known (shards count tokens, not documents). */
  documents?: { train: number; val: number };
}

/** Validation sequences read into memory from shards: evaluation sets are small. */
const MAX_SHARD_VALIDATION_SEQUENCES = 4096;

/** Prepares the data; `tokenizerJson` (a resumed or compared run's tokenizer) overrides the config's tokenizer. */
export async function prepareExperimentData(config: ExperimentConfig, context: number, tokenizerJson?: string): Promise<ExperimentData> {
  if (config.data.source === 'shards') {
    const dir = config.data.dir;
    const tokenizer = tokenizerJson !== undefined ? Tokenizer.fromJSON(tokenizerJson) : Tokenizer.fromFile(join(dir, 'tokenizer.json'));
    const val = ShardBatchLoader.open(dir, { batchSize: 1, context, split: 'val', shuffle: false });
    const valData = val.toPackedSequences(Math.min(val.numSequences, MAX_SHARD_VALIDATION_SEQUENCES));
    val.close();
    return {
      tokenizer,
      eosId: val.eosId,
      trainBatches: (batchSize, seed) => ShardBatchLoader.open(dir, { batchSize, context, split: 'train', seed }),
      valData,
    };
  }
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
    return {
      tokenizer: d.tokenizer,
      eosId: d.eosId,
      trainBatches: (batchSize, seed) => batches(d.trainData, batchSize, { seed }),
      valData: d.valData,
      documents: { train: d.trainDocuments, val: d.valDocuments },
    };
  }
  const texts: string[] = [];
  for await (const doc of readDocuments(config.data.paths, { field: config.data.field })) texts.push(doc.text);
  if (texts.length < 2) throw new MaskmixError('INVALID_ARGUMENT', `data.paths hold ${texts.length} document(s); a train/validation split needs at least 2`);
  const split = splitDocuments(texts, { valFraction: config.valFraction, seed: config.seed });
  const tokenizer = given !== undefined ? Tokenizer.fromJSON(given) : Tokenizer.fromJSON(toTokenizerJson(trainBpe(split.train, { vocabSize })));
  const eosId = tokenizer.tokenToId(END_OF_TEXT) ?? tokenizer.eosId;
  const trainData = packSequences(await tokenizer.encodeBatch(split.train), { context, eosId });
  return {
    tokenizer,
    eosId,
    trainBatches: (batchSize, seed) => batches(trainData, batchSize, { seed }),
    valData: packSequences(await tokenizer.encodeBatch(split.val), { context, eosId }),
    documents: { train: split.train.length, val: split.val.length },
  };
}
