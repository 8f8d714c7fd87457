/**
 * Model configurations: what a user writes (`ModelConfigInput`, most fields optional) and the complete form the
 * native layer receives (`ModelConfig`). Five architectures: the masked mixer ('mixer', SPEC §1), the
 * Llama-style transformer baseline ('llama', SPEC §2), the masked recurrent ("repeat") mixer ('repeat', SPEC §5),
 * generalized linear mixing ('linear', SPEC §5) and the masked-mixer autoencoder ('autoencoder', SPEC §4).
 * Validation errors name the field and what it accepts.
 */
import { z } from 'zod';

import { MaskmixError } from './errors.js';

const positiveInt = (what: string) =>
  z.number({ error: `${what} must be a number` }).int(`${what} must be an integer`).positive(`${what} must be positive`);

/** Fields every architecture has. */
const common = {
  /** Vocabulary size V: embedding rows and output logits. */
  vocabSize: positiveInt('vocabSize'),
  /** Model width d. */
  dModel: positiveInt('dModel'),
  /** Number of blocks L. */
  nLayers: positiveInt('nLayers'),
  /**
   * Context n: the longest input. Mixers' mixing weights are indexed by position (n×n matrices, or per-position
   * repeat weights), so for them it is also fixed by training.
   */
  context: positiveInt('context'),
  /** Token id ignored as a training target (the end-of-text token, which also pads). */
  padId: z.number().int('padId must be an integer').nonnegative('padId must be ≥ 0').default(0),
  /** Seed of the initial weights. */
  seed: z.number().int('seed must be an integer').nonnegative('seed must be ≥ 0').default(0),
  /** 'cpu', 'cuda' or 'cuda:N'. */
  device: z
    .string()
    .regex(/^(cpu|cuda(:\d+)?)$/, "device must be 'cpu', 'cuda' or 'cuda:N'")
    .default('cpu'),
  /** Parameter dtype: float32 (training; bf16 autocast on GPUs), or float64 for exact numerical checks. */
  dtype: z.enum(['float32', 'float64'], { error: "dtype must be 'float32' or 'float64'" }).default('float32'),
  /**
   * Fused blocks (default): the mixer's sublayers (the repeat mixer's feed-forward) recompute LayerNorm and GELU
   * outputs in backward; the transformer's RMSNorm, SwiGLU and rotary run as single kernels on CUDA. false runs the same math through
   * separate libtorch modules and autograd: the reference the fused path is tested against.
   */
  fused: z.boolean().default(true),
  /**
   * Multi-token prediction (paper §5.2): k > 1 adds heads mtp_heads.j predicting token t+2+j from position t
   * (h + Linear(h), then the shared output projection); training minimises the sum of the losses at offsets
   * 1 … k, evaluation stays the next-token loss. Left out = 1.
   */
  predictTokens: positiveInt('predictTokens').optional(),
};

export const mixerConfigSchema = z
  .object({
    kind: z.literal('mixer'),
    ...common,
    /** Feed-forward width as a multiple of dModel. */
    ffMultiplier: positiveInt('ffMultiplier').default(4),
    // Variants (SPEC §1). Left out = the flat single-head mixer, whose config and checkpoint keys stay as they were.
    // Variants mix through plain libtorch modules and decode by re-running the prefix (no cached decoder).
    /** Mixing heads: each projects d → d/H (proj_head.h), mixes with its own n×n matrix (conv.h), out_proj d → d. */
    nHeads: positiveInt('nHeads').optional(),
    /** Conv kernel over channels: conv.weight [n, n, k], k masked matrices ('same' padding, as Conv1d(n, n, k)). */
    kernelSize: positiveInt('kernelSize').optional(),
    /** Expanded mixing W2·GELU(W1·x) with W1 [round(e·n), n], W2 [n, round(e·n)] (conv.0, conv.2). */
    mixingExpansion: z.number().positive('mixingExpansion must be positive').optional(),
    /** Row-softmax of every masked mixing matrix over its unmasked entries. */
    mixingSoftmax: z.boolean().optional(),
    /**
     * Adds a reverse stream (reverseblocks.i, triu(W, 2) mixing) of nLayers blocks whose output is added to the
     * forward stream's once at the end: position t then sees every token but t+1, so next-token training stays
     * leak-free (paper §5.1), but outputs depend on later tokens.
     */
    bidirectional: z.boolean().optional(),
  })
  .strict()
  .refine((c) => c.nHeads === undefined || c.dModel % c.nHeads === 0, { message: 'nHeads must divide dModel', path: ['nHeads'] })
  .refine((c) => c.mixingExpansion === undefined || Math.round(c.mixingExpansion * c.context) >= 1, {
    message: 'mixingExpansion·context must round to at least 1',
    path: ['mixingExpansion'],
  })
  .refine((c) => !(c.bidirectional && c.mixingExpansion !== undefined), {
    message: 'expanded mixing has no reverse stream: bidirectional needs flat mixing',
    path: ['bidirectional'],
  });

export const llamaConfigSchema = z
  .object({
    kind: z.literal('llama'),
    ...common,
    /** Attention heads; dModel / nHeads must be even (rotary positions rotate pairs). */
    nHeads: positiveInt('nHeads').default(4),
    /** SwiGLU width (default 4·dModel). */
    intermediateSize: positiveInt('intermediateSize').optional(),
    ropeTheta: z.number().positive('ropeTheta must be positive').default(10000),
    /** RMSNorm epsilon. */
    normEps: z.number().positive('normEps must be positive').default(1e-5),
  })
  .strict()
  .refine((c) => c.dModel % c.nHeads === 0 && (c.dModel / c.nHeads) % 2 === 0, {
    message: 'nHeads must divide dModel into heads of even width',
    path: ['nHeads'],
  });

/** Token-mixing structures of the repeat mixer (native/ops/repeat_mixing.h defines each). */
export const REPEAT_STRUCTURES = ['mixed', 'column', 'row', 'column-diagonal', 'row-diagonal', 'combined', 'toeplitz', 'kernel'] as const;
export type RepeatStructure = (typeof REPEAT_STRUCTURES)[number];

export const repeatConfigSchema = z
  .object({
    kind: z.literal('repeat'),
    ...common,
    /** Feed-forward width as a multiple of dModel. */
    ffMultiplier: positiveInt('ffMultiplier').default(4),
    /** Mixing heads, each with its own projection Linear(d, d/H), structured matrix, bias and decay. */
    nHeads: positiveInt('nHeads').default(4),
    /**
     * The structured mixing matrix of every head: 'mixed' (half the heads column-repeat, half row-repeat, the
     * reference's main configuration), 'column', 'row', 'column-diagonal', 'row-diagonal', 'combined' (row +
     * column), 'toeplitz' (decodes with an O(n) cache) or 'kernel' (kernelSize weight rows per head).
     */
    structure: z.enum(REPEAT_STRUCTURES, { error: `structure must be one of ${REPEAT_STRUCTURES.join(', ')}` }).default('mixed'),
    /** Weight rows per head of the 'kernel' structure (ignored by the others). */
    kernelSize: positiveInt('kernelSize').default(4),
  })
  .strict()
  .refine((c) => c.dModel % c.nHeads === 0, { message: 'nHeads must divide dModel', path: ['nHeads'] });

/** How the autoencoder's decoder receives the encoder's embedding (native/models/autoencoder.h). */
export const AUTOENCODER_VARIANTS = ['plain', 'memory'] as const;
/** Block types of the autoencoder's encoder and decoder. */
export const AUTOENCODER_BLOCKS = ['mixer', 'llama'] as const;

export const autoencoderConfigSchema = z
  .object({
    kind: z.literal('autoencoder'),
    ...common,
    /** Feed-forward width as a multiple of dModel. */
    ffMultiplier: positiveInt('ffMultiplier').default(4),
    /**
     * 'plain': the embedding (the encoder's last-position state) repeated at every decoder position; 'memory': the
     * embedding first, then the input shifted right, so the decoder is a causal LM conditioned on the embedding.
     * Either way position i is trained to reproduce token i. nLayers is the depth of the encoder and of the decoder.
     */
    variant: z.enum(AUTOENCODER_VARIANTS, { error: `variant must be one of ${AUTOENCODER_VARIANTS.join(', ')}` }).default('plain'),
    /**
     * The blocks of encoder and decoder: 'mixer' (masked mixer blocks; left out = 'mixer', whose config and
     * checkpoint keys stay as they were) or 'llama' (Llama decoder layers, the paper's transformer autoencoder:
     * keys encoder.layers.i.…, encoder.norm, decoder.…, and decoder.embed_positions for the plain variant).
     */
    blocks: z.enum(AUTOENCODER_BLOCKS, { error: `blocks must be one of ${AUTOENCODER_BLOCKS.join(', ')}` }).optional(),
    // Llama blocks only (as kind 'llama'; filled by resolveModelConfig): attention heads (default 4), SwiGLU width
    // (default ffMultiplier·dModel), rotary base and RMSNorm epsilon.
    nHeads: positiveInt('nHeads').optional(),
    intermediateSize: positiveInt('intermediateSize').optional(),
    ropeTheta: z.number().positive('ropeTheta must be positive').optional(),
    normEps: z.number().positive('normEps must be positive').optional(),
  })
  .strict()
  .refine((c) => c.blocks === 'llama' || (c.nHeads ?? c.intermediateSize ?? c.ropeTheta ?? c.normEps) === undefined, {
    message: "nHeads, intermediateSize, ropeTheta and normEps need blocks 'llama'",
    path: ['blocks'],
  })
  .refine((c) => c.blocks !== 'llama' || (c.dModel % (c.nHeads ?? 4) === 0 && (c.dModel / (c.nHeads ?? 4)) % 2 === 0), {
    message: 'nHeads must divide dModel into heads of even width',
    path: ['nHeads'],
  });
/** Sparsity patterns of generalized linear mixing, the nine of the paper's Table 1 (native/ops/linear_pattern.h). */
export const LINEAR_PATTERNS = [
  'attention',
  'local',
  'first-order',
  'kth-order',
  'dense',
  'pow2',
  'pow2-lattice',
  'square',
  'square-lattice',
] as const;
export type LinearPattern = (typeof LINEAR_PATTERNS)[number];

/** How a linear mixer's training solves its recurrence (linearConfigSchema.linearSolve). */
export const LINEAR_SOLVES = ['auto', 'dense', 'chunked'] as const;
export type LinearSolveName = (typeof LINEAR_SOLVES)[number];

export const linearConfigSchema = z
  .object({
    kind: z.literal('linear'),
    ...common,
    /** Feed-forward width as a multiple of dModel. */
    ffMultiplier: positiveInt('ffMultiplier').default(4),
    /** Mixing heads, each with its own projection Linear(d, d/H) and coefficients. */
    nHeads: positiveInt('nHeads').default(4),
    /**
     * Which inputs A and past outputs B each position reads (Y = (I − B)⁻¹·A·X): 'attention' (B = 0, A dense: with
     * static coefficients the masked mixer), 'local' (B = 0, A banded by `window`), 'first-order' (diagonal SSM),
     * 'kth-order' (`order` past outputs), 'dense' (every past output), 'pow2' (outputs i − 2^k), 'square'
     * (i − (k²+1)), and their cache-efficient lattice roundings 'pow2-lattice' (O(log n) cache) and
     * 'square-lattice' (O(√n) cache).
     */
    pattern: z.enum(LINEAR_PATTERNS, { error: `pattern must be one of ${LINEAR_PATTERNS.join(', ')}` }).default('first-order'),
    /** Past outputs read by 'kth-order' (ignored by the others). */
    order: positiveInt('order').default(4),
    /** Inputs read by 'local', the current one included (ignored by the others). */
    window: positiveInt('window').default(8),
    /**
     * How α and β are made: 'static' (learned per position and slot, as the masked mixer's matrix) or 'gated'
     * (a softmax over the row's slots of a linear function of the row's input: convex, bounded, input-selective).
     */
    coefficients: z.enum(['static', 'gated'], { error: "coefficients must be 'static' or 'gated'" }).default('static'),
    /** Per-head input and output projections (default); false mixes the whole width as one head, as the masked mixer. */
    projections: z.boolean().default(true),
    /**
     * How training solves (I − B)·Y for patterns with B (native/ops/linear_mixing.h; all exact, the choice is speed
     * only): 'dense' one triangular solve over the whole sequence (O(n²·d)); 'chunked' forward substitution over the
     * pattern's offsets in chunks of 64 rows (O(n·(K + 64)·d)); 'auto' (default) dense for the 'dense' pattern and
     * sequences of ≤ 64 tokens, chunked otherwise. Configs written before this field existed load as 'auto'.
     */
    linearSolve: z.enum(LINEAR_SOLVES, { error: `linearSolve must be one of ${LINEAR_SOLVES.join(', ')}` }).default('auto'),
  })
  .strict()
  .refine((c) => c.dModel % c.nHeads === 0, { message: 'nHeads must divide dModel', path: ['nHeads'] })
  .refine((c) => c.projections || c.nHeads === 1, { message: 'without projections nHeads must be 1', path: ['nHeads'] });

export const modelConfigSchema = z.preprocess(
  // `kind` may be left out: the masked mixer is the default architecture.
  (raw) => (raw && typeof raw === 'object' && !('kind' in raw) ? { ...raw, kind: 'mixer' } : raw),
  z
    .discriminatedUnion('kind', [mixerConfigSchema, llamaConfigSchema, repeatConfigSchema, linearConfigSchema, autoencoderConfigSchema], {
      error: "kind must be 'mixer', 'llama', 'repeat', 'linear' or 'autoencoder'",
    })
    .refine((c) => c.padId < c.vocabSize, { message: 'padId must be smaller than vocabSize', path: ['padId'] }),
);

/** A complete model configuration. */
export type ModelConfig = z.output<typeof modelConfigSchema>;
export type MixerConfig = z.output<typeof mixerConfigSchema>;
export type LlamaConfig = z.output<typeof llamaConfigSchema>;
export type RepeatConfig = z.output<typeof repeatConfigSchema>;
export type AutoencoderConfig = z.output<typeof autoencoderConfigSchema>;
export type LinearConfig = z.output<typeof linearConfigSchema>;
/** What a caller may pass: required sizes, optional everything else. */
export type ModelConfigInput =
  | (Omit<z.input<typeof mixerConfigSchema>, 'kind'> & { kind?: 'mixer' })
  | z.input<typeof llamaConfigSchema>
  | z.input<typeof repeatConfigSchema>
  | z.input<typeof autoencoderConfigSchema>
  | z.input<typeof linearConfigSchema>;

/** Turns a zod failure into one CONFIG_INVALID error naming every bad field. */
export function configError(what: string, error: z.ZodError): MaskmixError {
  const lines = error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  return new MaskmixError('CONFIG_INVALID', `invalid ${what}:\n${lines.join('\n')}`);
}

/** Validates a model configuration and fills its defaults. @throws MaskmixError CONFIG_INVALID */
export function resolveModelConfig(input: unknown): ModelConfig {
  const parsed = modelConfigSchema.safeParse(input);
  if (!parsed.success) throw configError('model config', parsed.error);
  const config = parsed.data;
  if (config.kind === 'llama' && config.intermediateSize === undefined) return { ...config, intermediateSize: 4 * config.dModel };
  if (config.kind === 'autoencoder' && config.blocks === 'llama')
    return {
      ...config,
      nHeads: config.nHeads ?? 4,
      intermediateSize: config.intermediateSize ?? config.ffMultiplier * config.dModel,
      ropeTheta: config.ropeTheta ?? 10000,
      normEps: config.normEps ?? 1e-5,
    };
  return config;
}
