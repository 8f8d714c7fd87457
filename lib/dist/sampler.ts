/**
 * The distributed sampler: batches sharded by rank, so the ranks of a job see disjoint slices of the same global
 * batch — together exactly what one process with `batchSize × worldSize` sequences per step would see.
 */
import { BatchIterator, type BatchIteratorOptions, type SequenceSource } from '../data/batches.js';
import { distributedEnv } from './env.js';

/**
 * Batches of `batchSize` sequences per rank (the global batch is `batchSize × worldSize`). Rank and world size come
 * from `options.shard`, else from the launcher's environment; without a launcher this is a plain BatchIterator.
 * Every rank must use the same sequences, seed and batch size.
 */
export function distributedBatches(sequences: SequenceSource, batchSize: number, options: BatchIteratorOptions = {}): BatchIterator {
  const env = distributedEnv();
  return new BatchIterator(sequences, batchSize, { ...options, shard: options.shard ?? { rank: env.rank, worldSize: env.worldSize } });
}
