/**
 * Endless, resumable [batch, context] batches from a token-shard folder, read from disk as they are needed.
 *
 * A split's token stream (documents each followed by end-of-text) is cut into rows of `context` tokens, the last
 * row padded with end-of-text, exactly as {@link packSequences} packs documents held in memory. Each epoch visits
 * every row once, in an order drawn from the seed and the epoch number by an {@link IndexPermutation}, so no order
 * array is stored and any position can be resumed directly. A position also carries a fingerprint of the data and
 * the loader's settings: restoring it on other shards, another context or another seed is refused rather than
 * silently giving different batches.
 */
import { createHash } from 'node:crypto';

import { check, MaskmixError } from '../../errors.js';
import type { PackedSequences } from '../corpus.js';
import { deriveSeed } from '../random.js';
import { IndexPermutation } from './index-permutation.js';
import { readShardManifest, type ShardManifest, type ShardSplitName } from './shard-manifest.js';
import { ShardTokenReader } from './shard-token-reader.js';

/** Where a shard loader stands: the next row it hands out is number `index` of epoch `epoch`'s order. */
export interface ShardPosition {
  epoch: number;
  index: number;
  /** Identifies the shards, split, context, seed and shuffle the position belongs to. */
  fingerprint?: string;
}

/** Options for {@link ShardBatchLoader.open}. */
export interface ShardLoaderOptions {
  /** Rows per batch. */
  batchSize: number;
  /** Tokens per row: the model's context length. */
  context: number;
  /** Which side of the document split; default `train`. */
  split?: ShardSplitName;
  /** Visit rows in a new seeded order each epoch; default true. False reads them in stored order. */
  shuffle?: boolean;
  /** Seed of the per-epoch orders; default 0. */
  seed?: number;
  /** Start here instead of at epoch 0, row 0. */
  start?: ShardPosition;
}

/** Batches of `batchSize × context` token ids, each a fresh `Int32Array`. Never ends; call `close()` when done. */
export class ShardBatchLoader implements IterableIterator<Int32Array> {
  readonly batchSize: number;
  readonly context: number;
  readonly split: ShardSplitName;
  readonly shuffle: boolean;
  readonly seed: number;
  /** Rows per epoch. */
  readonly numSequences: number;
  /** Real tokens in the split; rows past them hold end-of-text padding. */
  readonly tokens: number;
  readonly vocabSize: number;
  readonly eosId: number;
  /** See {@link ShardPosition.fingerprint}. */
  readonly fingerprint: string;
  private readonly reader: ShardTokenReader;
  private epoch = 0;
  private index = 0;
  private order: { epoch: number; permutation: IndexPermutation } | undefined;

  private constructor(dir: string, manifest: ShardManifest, options: ShardLoaderOptions) {
    const { batchSize, context } = options;
    check(Number.isInteger(batchSize) && batchSize >= 1, `batchSize must be a positive integer, got ${batchSize}`);
    check(Number.isInteger(context) && context >= 1, `context must be a positive integer, got ${context}`);
    this.split = options.split ?? 'train';
    check(this.split === 'train' || this.split === 'val', `split must be 'train' or 'val', got ${this.split}`);
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    check(Number.isSafeInteger(this.seed), `seed must be an integer, got ${this.seed}`);
    this.batchSize = batchSize;
    this.context = context;
    this.vocabSize = manifest.vocabSize;
    this.eosId = manifest.eosId;
    this.tokens = manifest[this.split].tokens;
    if (this.tokens === 0) {
      throw new MaskmixError('INVALID_ARGUMENT', `the ${this.split} split of ${dir} holds no tokens: ${emptySplitReason(manifest, this.split)}`);
    }
    this.numSequences = Math.ceil(this.tokens / context);
    check(this.numSequences <= 2 ** 31, `${this.numSequences} rows of ${context} tokens are too many; use a longer context`);
    this.reader = new ShardTokenReader(dir, manifest, this.split);
    const identity = manifest[this.split].shards.map((s) => s.sha256).join(',');
    this.fingerprint = createHash('sha256')
      .update(JSON.stringify([identity, this.split, context, this.shuffle, this.seed]))
      .digest('hex')
      .slice(0, 16);
    if (options.start) this.seek(options.start);
  }

  /**
   * Opens the shard folder `dir` (its manifest is read and checked; shards are opened on first use).
   * Throws `NOT_FOUND` for a folder without manifest, `DATA_INVALID` for a bad manifest, `INVALID_ARGUMENT` for bad
   * options or an empty split.
   */
  static open(dir: string, options: ShardLoaderOptions): ShardBatchLoader {
    check(typeof dir === 'string' && dir.length > 0, 'the shard folder must be a non-empty string');
    check(options != null && typeof options === 'object', 'options { batchSize, context } are required');
    return new ShardBatchLoader(dir, readShardManifest(dir), options);
  }

  /** Rows per epoch divided by the batch size (may be fractional). */
  get batchesPerEpoch(): number {
    return this.numSequences / this.batchSize;
  }

  /** The current position, to be saved with a checkpoint. */
  get position(): ShardPosition {
    return { epoch: this.epoch, index: this.index, fingerprint: this.fingerprint };
  }

  /**
   * Moves to a saved position. Throws `INVALID_ARGUMENT` if it is out of range or its fingerprint belongs to other
   * shards or settings. A position without fingerprint is accepted as is.
   */
  seek(position: ShardPosition): void {
    check(position != null && typeof position === 'object', 'position must be an object { epoch, index, fingerprint }');
    const { epoch, index, fingerprint } = position;
    check(Number.isSafeInteger(epoch) && epoch >= 0, `position.epoch must be a non-negative integer, got ${epoch}`);
    check(Number.isInteger(index) && index >= 0 && index < this.numSequences, `position.index must be an integer in [0, ${this.numSequences}), got ${index}`);
    check(
      fingerprint === undefined || fingerprint === this.fingerprint,
      'the position was saved for other shards, split, context, seed or shuffle setting; it cannot be resumed here',
    );
    this.epoch = epoch;
    this.index = index;
  }

  /** The row that position `index` of epoch `epoch` visits. */
  rowAt(epoch: number, index: number): number {
    if (!this.shuffle) return index;
    // Building a permutation is cheap (a few derived keys), so only the latest epoch's is kept.
    if (this.order?.epoch !== epoch) this.order = { epoch, permutation: new IndexPermutation(this.numSequences, deriveSeed(this.seed, epoch)) };
    return this.order.permutation.at(index);
  }

  /** The next batch, continuing into the next epoch when this one runs out. */
  nextBatch(): Int32Array {
    const batch = new Int32Array(this.batchSize * this.context);
    for (let row = 0; row < this.batchSize; row++) {
      this.readRow(this.rowAt(this.epoch, this.index), batch, row * this.context);
      if (++this.index === this.numSequences) {
        this.epoch++;
        this.index = 0;
      }
    }
    return batch;
  }

  /** Rows `first … first + count - 1` in stored order (for evaluation), as one array. */
  readRows(first: number, count: number): Int32Array {
    check(Number.isInteger(first) && Number.isInteger(count) && first >= 0 && count >= 0 && first + count <= this.numSequences,
      `rows [${first}, ${first + count}) are outside the ${this.numSequences} rows`);
    const out = new Int32Array(count * this.context);
    for (let r = 0; r < count; r++) this.readRow(first + r, out, r * this.context);
    return out;
  }

  /**
   * The first `maxSequences` rows (default all) in stored order, in the shape {@link evaluate} takes. Meant for a
   * validation split, which is small; it is read into memory.
   */
  toPackedSequences(maxSequences = this.numSequences): PackedSequences {
    check(Number.isInteger(maxSequences) && maxSequences >= 1, `maxSequences must be a positive integer, got ${maxSequences}`);
    const numSequences = Math.min(maxSequences, this.numSequences);
    return {
      data: this.readRows(0, numSequences),
      numSequences,
      context: this.context,
      realTokens: Math.min(this.tokens, numSequences * this.context),
    };
  }

  /** Iterator protocol; never `done`. */
  next(): IteratorResult<Int32Array> {
    return { done: false, value: this.nextBatch() };
  }

  [Symbol.iterator](): IterableIterator<Int32Array> {
    return this;
  }

  /** Closes the shard files. */
  close(): void {
    this.reader.close();
  }

  private readRow(row: number, out: Int32Array, offset: number): void {
    const start = row * this.context;
    const real = Math.max(0, Math.min(this.context, this.tokens - start));
    this.reader.read(start, real, out, offset);
    if (real < this.context) out.fill(this.eosId, offset + real, offset + this.context);
  }
}

/** Why one side of a shard folder is empty, from its manifest, and what to do about it. */
export function emptySplitReason(manifest: ShardManifest, split: ShardSplitName): string {
  const { valFraction } = manifest.split;
  const documents = manifest.train.documents + manifest.val.documents;
  const skipped = manifest.skippedDocuments > 0 ? ` (${manifest.skippedDocuments} empty ones skipped)` : '';
  if (documents === 0) return `no document encoded to any token${skipped}; tokenize a non-empty corpus`;
  if (split === 'val' && valFraction === 0) {
    return 'it was tokenized with valFraction 0 (no validation split); re-run `maskmix tokenize` with --val-fraction above 0';
  }
  if (documents < 2) return `the corpus has only ${documents} document${skipped}, too few to hold one out; tokenize more documents`;
  if (split === 'val' && manifest.split.oneText) {
    // Re-tokenizing cannot help: a text never sits on both sides of the split.
    return `all ${documents} documents are copies of one text, which cannot be on both sides of the split; give more distinct documents`;
  }
  if (split === 'val') {
    // Shards written before the writer kept a validation document (or before it recorded oneText).
    return (
      `none of its ${documents} documents went to validation (valFraction ${valFraction}, split by text hash); ` +
      're-run `maskmix tokenize` on it (it now keeps at least one validation document) or give more distinct documents'
    );
  }
  return `all ${documents} documents went to validation (valFraction ${valFraction}); re-run \`maskmix tokenize\` with a smaller --val-fraction`;
}
