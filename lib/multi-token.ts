/**
 * Multi-token prediction (paper §5.2): a model built with `predictTokens: k` predicts tokens t+1 … t+k from
 * position t. Its training loss is the sum over offsets; `multiTokenLosses` gives each offset's eval loss.
 */
import type { LanguageModel, TokenBatch } from './model.js';

/** Mean loss at each offset 1 … predictTokens (index 0 is the ordinary next-token loss). */
export function multiTokenLosses(model: LanguageModel, batch: TokenBatch): Promise<number[]> {
  return model.handle.multiTokenLosses(batch.tokens, batch.batch);
}
