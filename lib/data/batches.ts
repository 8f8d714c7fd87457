/**
 * Endless, resumable batches over packed sequences. The sequences are read as one stream, epoch after epoch,
 * each epoch in its own seeded order; a batch simply takes the next `batchSize` sequences of that stream, so every
 * batch is full and, over time, every sequence is seen equally often. A run saves {@link BatchIterator.position}
 * with its checkpoint and, on resume, gets exactly the batches it would have seen had it not stopped.
 */
import { check } from '../errors.js';
import { deriveSeed, mulberry32, permutation } from './random.js';

/** Where a batch iterator stands: the next sequence it hands out is number `index` of epoch `epoch`'s order. */
export interface BatchPosition {
  epoch: number;
  index: number;
}

/** Options for {@link BatchIterator}. */
export interface BatchIteratorOptions {
  /** Visit sequences in a new seeded order each epoch (default true); false keeps their stored order. */
  shuffle?: boolean;
  /** Seed of the per-epoch orders (default 0). */
  seed?: number;
  /** Start here instead of at epoch 0, index 0. */
  start?: BatchPosition;
  /**
   * Data-parallel sharding: the stream is read in global batches of `batchSize * worldSize` sequences, of which
   * this process gets rows `rank * batchSize …`. All ranks together see exactly the batches one process with
   * `batchSize * worldSize` would, each rank a disjoint slice of every global batch.
   */
  shard?: { rank: number; worldSize: number };
}

/** Fixed-length sequences stored row after row; {@link PackedSequences} from corpus.ts has this shape. */
export interface SequenceSource {
  data: Int32Array;
  numSequences: number;
  context: number;
}

/** Iterates batches of `batchSize` sequences, each a fresh `Int32Array` of `batchSize * context` ids. Never ends. */
export class BatchIterator implements IterableIterator<Int32Array> {
  readonly batchSize: number;
  readonly context: number;
  readonly numSequences: number;
  readonly shuffle: boolean;
  readonly seed: number;
  /** This process's share of each global batch (rank 0 of 1 without sharding). */
  readonly shard: { rank: number; worldSize: number };
  private readonly data: Int32Array;
  private epoch = 0;
  private index = 0;
  private order: Int32Array | undefined; // the current epoch's order, built on first use

  constructor(sequences: SequenceSource, batchSize: number, options: BatchIteratorOptions = {}) {
    check(sequences != null && sequences.data instanceof Int32Array, 'sequences.data must be an Int32Array');
    const { data, numSequences, context } = sequences;
    check(Number.isInteger(context) && context >= 1, `context must be a positive integer, got ${context}`);
    check(Number.isInteger(numSequences) && numSequences >= 1, `there must be at least one sequence, got ${numSequences}`);
    check(
      data.length === numSequences * context,
      `data holds ${data.length} ids, not numSequences * context = ${numSequences * context}`,
    );
    check(Number.isInteger(batchSize) && batchSize >= 1, `batchSize must be a positive integer, got ${batchSize}`);
    this.data = data;
    this.context = context;
    this.numSequences = numSequences;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    check(Number.isFinite(this.seed), `seed must be a finite number, got ${this.seed}`);
    const shard = options.shard ?? { rank: 0, worldSize: 1 };
    check(Number.isInteger(shard.worldSize) && shard.worldSize >= 1, `shard.worldSize must be a positive integer, got ${shard.worldSize}`);
    check(
      Number.isInteger(shard.rank) && shard.rank >= 0 && shard.rank < shard.worldSize,
      `shard.rank must be an integer in [0, ${shard.worldSize}), got ${shard.rank}`,
    );
    this.shard = { rank: shard.rank, worldSize: shard.worldSize };
    if (options.start) this.seek(options.start);
  }

  /** Sequences per epoch divided by the (global) batch size: how many batches make one pass (may be fractional). */
  get batchesPerEpoch(): number {
    return this.numSequences / (this.batchSize * this.shard.worldSize);
  }

  /** The current position, to be saved for resuming. */
  get position(): BatchPosition {
    return { epoch: this.epoch, index: this.index };
  }

  /** Moves to a saved position. Throws `INVALID_ARGUMENT` if it does not fit these sequences. */
  seek(position: BatchPosition): void {
    check(position != null, 'position must be an object { epoch, index }');
    const { epoch, index } = position;
    check(Number.isSafeInteger(epoch) && epoch >= 0, `position.epoch must be a non-negative integer, got ${epoch}`);
    check(
      Number.isInteger(index) && index >= 0 && index < this.numSequences,
      `position.index must be an integer in [0, ${this.numSequences}), got ${index}`,
    );
    if (epoch !== this.epoch) this.order = undefined;
    this.epoch = epoch;
    this.index = index;
  }

  /** The order in which epoch `epoch` visits the sequences (depends only on the seed and the epoch). */
  epochOrder(epoch: number): Int32Array {
    check(Number.isSafeInteger(epoch) && epoch >= 0, `epoch must be a non-negative integer, got ${epoch}`);
    if (!this.shuffle) return Int32Array.from({ length: this.numSequences }, (_, i) => i);
    return permutation(this.numSequences, mulberry32(deriveSeed(this.seed, epoch)));
  }

  /**
   * The next batch: `batchSize` rows, continuing into the next epoch when this one runs out. With a shard, the
   * rows of the other ranks' shares of the global batch are skipped.
   */
  nextBatch(): Int32Array {
    const { context } = this;
    const batch = new Int32Array(this.batchSize * context);
    const first = this.shard.rank * this.batchSize;
    for (let row = 0; row < this.batchSize * this.shard.worldSize; row++) {
      this.order ??= this.epochOrder(this.epoch);
      const mine = row - first;
      if (mine >= 0 && mine < this.batchSize) {
        const seq = this.order[this.index];
        batch.set(this.data.subarray(seq * context, (seq + 1) * context), mine * context);
      }
      if (++this.index === this.numSequences) {
        this.epoch++;
        this.index = 0;
        this.order = undefined;
      }
    }
    return batch;
  }

  /** Iterator protocol; never `done`. */
  next(): IteratorResult<Int32Array> {
    return { done: false, value: this.nextBatch() };
  }

  [Symbol.iterator](): IterableIterator<Int32Array> {
    return this;
  }
}

/** Shorthand for `new BatchIterator(sequences, batchSize, options)`. */
export function batches(sequences: SequenceSource, batchSize: number, options: BatchIteratorOptions = {}): BatchIterator {
  return new BatchIterator(sequences, batchSize, options);
}
