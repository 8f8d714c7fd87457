/** Checks that a language model is exactly causal: a token never changes the logits of earlier positions. */
import { expect } from 'vitest';

import type { LanguageModel } from '../lib/model.js';

/**
 * For each j in `changedAt`, replaces token j of the one-sequence `base` and asserts every logit before position j
 * stays bit-identical while some logit at j changes (so the check cannot pass on a model that ignores its input).
 */
export async function expectExactlyCausal(model: LanguageModel, base: Int32Array, changedAt: number[], what: string): Promise<void> {
  const V = model.config.vocabSize;
  const logits = async (tokens: Int32Array) => (await model.forward(tokens, 1)).toTypedArray() as Float32Array;
  const before = await logits(base);
  for (const j of changedAt) {
    const changed = Int32Array.from(base);
    changed[j] = (changed[j] + 11) % V;
    const after = await logits(changed);
    for (let i = 0; i < j * V; i++) if (after[i] !== before[i]) expect.fail(`${what} j=${j}: logit ${i} changed`);
    expect(after.subarray(j * V, (j + 1) * V).some((v, k) => v !== before[j * V + k])).toBe(true);
  }
}
