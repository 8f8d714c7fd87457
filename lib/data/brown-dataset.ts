/**
 * The Brown corpus made ready for training, as `maskmix quickstart` and `maskmix train` use it: documents split
 * into train and validation, a byte-level BPE tokenizer trained on the training documents (or one given), and
 * both splits encoded and packed into fixed-length sequences.
 */
import { END_OF_TEXT, trainBpe } from '../tokenizer/bpe-trainer.js';
import { toTokenizerJson } from '../tokenizer/tokenizer-json.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { loadBrownCorpus } from './brown.js';
import { packSequences, splitDocuments, type PackedSequences } from './corpus.js';

/** Options of {@link prepareBrownDataset}. */
export interface BrownDatasetOptions {
  /** Use only the first N of the 500 documents. */
  documents?: number;
  vocabSize: number;
  context: number;
  /** Seed of the train/validation split. */
  seed: number;
  /** Share of documents held out for validation (default 0.05). */
  valFraction?: number;
  /** A tokenizer.json (text) to use instead of training one, e.g. the one rank 0 trained. */
  tokenizerJson?: string;
  onPhase?: (phase: 'corpus' | 'tokenizer', detail: string) => void;
}

/** The packed splits and the tokenizer that made them. */
export interface BrownDataset {
  documents: number;
  trainDocuments: number;
  valDocuments: number;
  tokenizer: Tokenizer;
  /** The end-of-text id: separates packed documents and pads. */
  eosId: number;
  trainData: PackedSequences;
  valData: PackedSequences;
}

/** Loads, splits, tokenizes (training the tokenizer unless one is given) and packs the Brown corpus. */
export async function prepareBrownDataset(options: BrownDatasetOptions): Promise<BrownDataset> {
  options.onPhase?.('corpus', 'loading the Brown corpus');
  let documents = loadBrownCorpus();
  if (options.documents !== undefined) documents = documents.slice(0, options.documents);
  const split = splitDocuments(documents, { valFraction: options.valFraction ?? 0.05, seed: options.seed });

  let tokenizer: Tokenizer;
  if (options.tokenizerJson !== undefined) {
    tokenizer = Tokenizer.fromJSON(options.tokenizerJson);
  } else {
    options.onPhase?.('tokenizer', `training a ${options.vocabSize}-token byte-level BPE on ${split.train.length} documents`);
    tokenizer = Tokenizer.fromJSON(toTokenizerJson(trainBpe(split.train, { vocabSize: options.vocabSize })));
  }
  const eosId = tokenizer.tokenToId(END_OF_TEXT) ?? 0;
  const trainData = packSequences(await tokenizer.encodeBatch(split.train), { context: options.context, eosId });
  const valData = packSequences(await tokenizer.encodeBatch(split.val), { context: options.context, eosId });
  return {
    documents: documents.length,
    trainDocuments: split.train.length,
    valDocuments: split.val.length,
    tokenizer,
    eosId,
    trainData,
    valData,
  };
}
