/**
 * Multi-token prediction (paper §5.2): a model built with `predictTokens: k` predicts tokens t+1 … t+k from
 * position t. Its training loss is the sum over offsets; `multiTokenLosses` gives each offset's eval loss.
 */
import type { LanguageModel, TokenBatch } from './model.js';

/** Mean loss at each offset 1 … predictTokens (index 0 is the ordinary next-token loss). */
export function multiTokenLosses(model: LanguageModel, batch: TokenBatch): Promise<number[]> {
  return model.handle.multiTokenLosses(batch.tokens, batch.batch);
}

/**
 * Per-offset validation losses over packed sequences (batch means weighted by rows; evaluation data is packed,
 * so batches hold nearly equal numbers of targets). Every process computes it over all sequences.
 */
export async function evaluateByOffset(
  model: LanguageModel,
  data: { data: Int32Array; context: number; numSequences: number },
  options: { batchSize?: number; maxSequences?: number } = {},
): Promise<number[]> {
  const batchSize = options.batchSize ?? 8;
  const count = Math.min(data.numSequences, options.maxSequences ?? data.numSequences);
  const sums: number[] = [];
  let rowsSeen = 0;
  for (let start = 0; start < count; start += batchSize) {
    const rows = Math.min(batchSize, count - start);
    const losses = await multiTokenLosses(model, { tokens: data.data.subarray(start * data.context, (start + rows) * data.context), batch: rows });
    if (losses.some((l) => !Number.isFinite(l))) continue; // a batch of padding only has no targets
    losses.forEach((l, o) => (sums[o] = (sums[o] ?? 0) + l * rows));
    rowsSeen += rows;
  }
  return sums.map((s) => s / rowsSeen);
}
