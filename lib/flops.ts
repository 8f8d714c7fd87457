/**
 * Training FLOPs estimates, so runs can be compared at equal compute (paper appendix, "fixed compute").
 * Counted as multiply-adds × 2 of the matrix products; training costs 3× the forward pass (forward + two
 * backward products). Norms, activations and the optimizer are left out.
 */
import type { ModelConfig } from './model-config.js';

/** Forward FLOPs per token of the masked mixer at full context. */
export function mixerForwardFlopsPerToken(config: Pick<ModelConfig, 'vocabSize' | 'dModel' | 'nLayers' | 'context' | 'ffMultiplier'>): number {
  const { vocabSize: v, dModel: d, nLayers: l, context: n, ffMultiplier: f } = config;
  const feedForward = 2 * 2 * d * (f * d);
  // Causal mixing: position t sums over t+1 positions on d channels; averaged over the sequence ≈ (n+1)/2.
  const mixing = 2 * d * ((n + 1) / 2);
  const head = 2 * d * v;
  return l * (feedForward + mixing) + head;
}

/** Training FLOPs for `tokens` tokens. */
export function trainingFlops(config: Parameters<typeof mixerForwardFlopsPerToken>[0], tokens: number): number {
  return 3 * mixerForwardFlopsPerToken(config) * tokens;
}
