/**
 * Training FLOPs estimates, so runs can be compared at equal compute (paper appendix, "fixed compute").
 * Counted as 2 × multiply-adds of the matrix products; training costs 3× the forward pass (forward + two
 * backward products). Norms, activations and the optimizer are left out.
 */
import type { ModelConfig } from './model-config.js';

/** Forward FLOPs per token at full context. */
export function forwardFlopsPerToken(config: ModelConfig): number {
  const { vocabSize: v, dModel: d, nLayers: l, context: n } = config;
  const head = 2 * d * v;
  // Causal token mixing (mixing matrix or attention scores and values): position t reads t+1 positions,
  // on average (n+1)/2.
  const mean = (n + 1) / 2;
  if (config.kind === 'llama') {
    const projections = 2 * 4 * d * d;
    const mlp = 2 * 3 * d * (config.intermediateSize ?? 4 * d);
    const attention = 2 * 2 * d * mean;
    return l * (projections + mlp + attention) + head;
  }
  const feedForward = 2 * 2 * d * (config.ffMultiplier * d);
  if (config.kind === 'repeat') {
    // Projections in and out, plus the parallel form of the structured mixing: an explicit matrix up to n = 128,
    // chunks of 64 beyond (native/ops/decayed_scan.cpp); Toeplitz heads always mix the whole prefix.
    const window = config.structure === 'toeplitz' || n <= 128 ? mean : 64;
    return l * (feedForward + 2 * 2 * d * d + 2 * d * window) + head;
  }
  if (config.kind === 'linear') {
    // Positions each row reads (A's lags + B's slots, on average), plus half a 64-row chunk of the in-chunk solve
    // for patterns with B (native/ops/linear_mixing.h); projections in and out.
    const reads: Record<string, number> = {
      attention: mean,
      local: Math.min(config.window, n),
      'first-order': 2 + 32,
      'kth-order': 1 + config.order + 32,
      dense: mean + 1,
      pow2: 1 + Math.log2(n) + 32,
      'pow2-lattice': 1 + Math.log2(n) + 32,
      square: 1 + Math.sqrt(n) + 32,
      'square-lattice': 1 + Math.sqrt(n) + 32,
    };
    const projections = config.projections ? 2 * 2 * d * d : 0;
    return l * (feedForward + projections + 2 * d * reads[config.pattern]) + head;
  }
  const mixing = 2 * d * mean;
  // The autoencoder runs an encoder and a decoder stack of nLayers mixer blocks each.
  const stacks = config.kind === 'autoencoder' ? 2 : 1;
  return stacks * l * (feedForward + mixing) + head;
}

/** Training FLOPs for `tokens` tokens. */
export function trainingFlops(config: ModelConfig, tokens: number): number {
  return 3 * forwardFlopsPerToken(config) * tokens;
}
