/**
 * Training FLOPs estimates, so runs can be compared at equal compute (paper appendix, "fixed compute").
 * Counted as 2 × multiply-adds of the matrix products; training costs 3× the forward pass (forward + two
 * backward products). Token mixing counts the unmasked entries of its masked matrices (what the mixing computes
 * beyond zeros). Norms, activations, softmaxes and the optimizer are left out.
 */
import type { AutoencoderConfig, LinearConfig, LlamaConfig, MixerConfig, ModelConfig } from './model-config.js';

/** Unmasked entries of a causal (lower-triangular, diagonal included) n×n matrix, per row on average. */
const causalMean = (n: number) => (n + 1) / 2;

/** A Llama decoder layer per token (native/models/llama.cpp): q/k/v/o, SwiGLU, causal scores and values. */
function llamaLayer(d: number, n: number, intermediate: number): number {
  const projections = 2 * 4 * d * d; // q_proj, k_proj, v_proj, o_proj: Linear(d, d) each
  const mlp = 2 * 3 * d * intermediate; // gate_proj, up_proj: Linear(d, I); down_proj: Linear(I, d)
  const attention = 2 * 2 * d * causalMean(n); // Q·Kᵀ and softmax·V over the t+1 visible positions
  return projections + mlp + attention;
}

/** Masked mixing of a width-d stream per token (native/models/masked_mixer.cpp, ops/masked_mixing.cpp). */
function mixingPerToken(config: MixerConfig, d: number, reverse: boolean): number {
  const n = config.context;
  // kernelSize k: k masked n×n matrices, one matmul each (maskedKernelMixing), so k× the flat mixing.
  const k = config.kernelSize ?? 1;
  if (config.mixingExpansion !== undefined) {
    // W2·GELU(W1·x) (ExpandedMaskedConv): with h = min(n, round(e·n)) hidden rows, W1 [h, n] causal reads r+1
    // inputs in row r, W2 [n, h] causal reads min(t+1, h) hidden rows in row t.
    const h = Math.min(n, Math.round(config.mixingExpansion * n));
    const first = (h * (h + 1)) / 2;
    const second = (h * (h + 1)) / 2 + (n - h) * h;
    return (2 * d * k * (first + second)) / n;
  }
  // The reverse stream's triu(W, 2): row t reads positions t+2 … n−1, (n−1)(n−2)/2 entries in all.
  const reads = reverse ? ((n - 1) * (n - 2)) / 2 / n : causalMean(n);
  return 2 * d * k * reads;
}

/** One masked mixer block per token, flat or a variant (MixerBlockImpl). */
function mixerBlock(config: MixerConfig, reverse: boolean): number {
  const d = config.dModel;
  const feedForward = 2 * 2 * d * (config.ffMultiplier * d); // patch_ff.0 Linear(d, f·d), patch_ff.2 Linear(f·d, d)
  const heads = config.nHeads ?? 1;
  // nHeads H > 1: proj_head.h Linear(d, d/H) for each head (d·d in all) and out_proj Linear(d, d); the heads'
  // mixings of d/H channels each add up to the flat mixing of d channels.
  const projections = heads > 1 ? 2 * 2 * d * d : 0;
  return feedForward + projections + mixingPerToken(config, d, reverse);
}

/** The autoencoder's two stacks per token (native/models/autoencoder.cpp). */
function autoencoderStacks(config: AutoencoderConfig): number {
  const { dModel: d, nLayers: l, context: n } = config;
  if (config.blocks === 'llama') {
    // Encoder and decoder of nLayers Llama decoder layers each; the plain decoder's embed_positions is an addition.
    return 2 * l * llamaLayer(d, n, config.intermediateSize ?? config.ffMultiplier * d);
  }
  // Encoder and decoder of nLayers flat masked mixer blocks each.
  const feedForward = 2 * 2 * d * (config.ffMultiplier * d);
  return 2 * l * (feedForward + 2 * d * causalMean(n));
}

/**
 * Multi-token prediction (native/train/multi_token.cpp), training only: offset j = 2 … k runs its head
 * mtp_heads.(j−2) Linear(d, d) and the shared output projection on the t − j positions that have a target.
 */
function multiTokenHeads(config: ModelConfig): number {
  const { vocabSize: v, dModel: d, context: n } = config;
  let flops = 0;
  for (let j = 2; j <= (config.predictTokens ?? 1) && j < n; j++) flops += ((n - j) / n) * (2 * d * d + 2 * d * v);
  return flops;
}

/** A generalized-linear row's slots: A's lags plus B's offsets that fit the context (native/ops/linear_pattern.cpp). */
function linearSlots(config: LinearConfig): number {
  const n = config.context;
  const fits = (offsets: (k: number) => number) => {
    let count = 0;
    while (offsets(count) <= n - 1) count++;
    return count;
  };
  switch (config.pattern) {
    case 'attention':
      return n;
    case 'local':
      return Math.min(config.window, n);
    case 'first-order':
      return 1 + fits((k) => (k === 0 ? 1 : Infinity));
    case 'kth-order':
      return 1 + fits((k) => (k < config.order ? k + 1 : Infinity));
    case 'dense':
      return 1 + fits((k) => k + 1);
    case 'pow2':
    case 'pow2-lattice':
      return 1 + fits((k) => 2 ** k);
    case 'square':
    case 'square-lattice':
      return 1 + fits((k) => k * k + 1);
  }
}

/** Rows of one block of the chunked solve (native/ops/linear_mixing.cpp: `chunk` = 64). */
const SOLVE_CHUNK = 64;

/**
 * Positions each row of generalized linear mixing reads, on average (native/ops/linear_mixing.cpp): A's lags, then
 * the solve (I − B)·Y = z in blocks of c rows — inside a block a triangular solve, (c+1)/2 reads per row; from
 * earlier blocks B's slots. `linearSolve` picks c: 'dense' one block of n, 'chunked' 64, 'auto' one block for the
 * 'dense' pattern or n ≤ 64, else 64. Attention-like and local patterns have no B.
 */
function linearReads(config: Extract<ModelConfig, { kind: 'linear' }>): number {
  const n = config.context;
  const mean = causalMean(n);
  const aReads = config.pattern === 'attention' ? mean : config.pattern === 'local' ? Math.min(config.window, n) : 1;
  const bSlots: Record<string, number> = {
    attention: 0,
    local: 0,
    'first-order': 1,
    'kth-order': config.order,
    dense: mean,
    pow2: Math.log2(n),
    'pow2-lattice': Math.log2(n),
    square: Math.sqrt(n),
    'square-lattice': Math.sqrt(n),
  };
  const slots = bSlots[config.pattern];
  if (slots === 0) return aReads;
  const solve = config.linearSolve ?? 'auto';
  const oneBlock = n <= SOLVE_CHUNK || solve === 'dense' || (solve === 'auto' && config.pattern === 'dense');
  // One block: every row solves against all earlier rows. Chunks: half a chunk inside, B's slots across.
  return aReads + (oneBlock ? mean : slots + SOLVE_CHUNK / 2);
}

/**
 * Gated coefficients: each row's logits over all KA + KB slots from its own input, per head gate_weight
 * [KA + KB, d/H] (native/models/linear_mixer.cpp), so 2·d·(KA + KB) per token.
 */
function linearGate(config: Extract<ModelConfig, { kind: 'linear' }>): number {
  return config.coefficients === 'gated' ? 2 * config.dModel * linearSlots(config) : 0;
}

/** Forward FLOPs per token at full context, as training runs it (multi-token heads included). */
export function forwardFlopsPerToken(config: ModelConfig): number {
  return modelForward(config) + multiTokenHeads(config);
}

function modelForward(config: ModelConfig): number {
  const { vocabSize: v, dModel: d, nLayers: l, context: n } = config;
  const head = 2 * d * v;
  // Causal token mixing (mixing matrix or attention scores and values): position t reads t+1 positions,
  // on average (n+1)/2.
  const mean = causalMean(n);
  if (config.kind === 'llama') {
    return l * llamaLayer(d, n, (config as LlamaConfig).intermediateSize ?? 4 * d) + head;
  }
  const feedForward = 2 * 2 * d * (config.ffMultiplier * d);
  if (config.kind === 'repeat') {
    // Projections in and out, plus the parallel form of the structured mixing: an explicit matrix up to n = 128,
    // chunks of 64 beyond (native/ops/decayed_scan.cpp); Toeplitz heads always mix the whole prefix.
    const window = config.structure === 'toeplitz' || n <= 128 ? mean : 64;
    return l * (feedForward + 2 * 2 * d * d + 2 * d * window) + head;
  }
  if (config.kind === 'linear') {
    return l * (feedForward + (config.projections ? 2 * 2 * d * d : 0) + linearGate(config) + 2 * d * linearReads(config)) + head;
  }
  if (config.kind === 'autoencoder') return autoencoderStacks(config) + head;
  // The masked mixer; bidirectional adds a reverse stream of nLayers blocks (reverseblocks.i), summed at the end.
  const reverse = config.bidirectional ? l * mixerBlock(config, true) : 0;
  return l * mixerBlock(config, false) + reverse + head;
}

/** Training FLOPs for `tokens` tokens. */
export function trainingFlops(config: ModelConfig, tokens: number): number {
  return 3 * forwardFlopsPerToken(config) * tokens;
}
