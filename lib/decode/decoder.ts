/**
 * `Decoder`: a decoding session over one model. It feeds the model tokens a chunk at a time (`prefill`) or one per
 * sequence (`step`) and returns the logits of the next position, keeping the past in per-layer states (running
 * sums for a repeat mixer, O(1); cached mixing inputs for the masked mixer and keys/values for Llama, O(n)), so
 * no prefix is re-run. Mode 'full-prefix' re-runs it instead (the reference cost, and the path for models
 * without a cache).
 */
import { check } from '../errors.js';
import type { LanguageModel, SamplingOptions } from '../model.js';
import { native, type NativeDecodeResult, type NativeDecoder } from '../native.js';
import { Tensor } from '../tensor.js';
import { tokenIds } from '../token-ids.js';
import { checkEvalPrecision } from '../precision.js';

/** 'auto' decodes with a cache when the model has one. */
export type DecoderMode = 'auto' | 'cached' | 'full-prefix';

export interface DecoderOptions {
  /** Sequences decoded side by side. Default 1. */
  batch?: number;
  /** Default 'auto'. */
  mode?: DecoderMode;
  /** 'auto' runs under bf16 autocast on a GPU (as evaluation does); 'fp32' never. Default 'auto'. */
  precision?: 'auto' | 'fp32';
  /**
   * 'int8': where greedy() runs maskmix's fused GPU kernels (column, row and mixed repeat mixers at small batch),
   * they read every matrix as int8 with a float32 scale per output row (max |w| / 127, values rounded): half of
   * bf16's bytes a token, activations still float32. The copies are made when greedy() captures its graph. Greedy
   * tokens can part from the unquantised model's; step(), prefill() and other greedy paths use the model's weights,
   * and greedy()'s result says which ran (`int8Weights`). Needs a model on a CUDA device. Default 'model'.
   */
  weights?: 'model' | 'int8';
}

/** Sampling of the next token inside the decoding call, with one uniform draw in [0, 1) per sequence. */
export interface DecodeSampling extends SamplingOptions {
  uniforms: readonly number[] | Float64Array;
}

export interface DecodeResult {
  /** Logits [batch, vocab] of the last position fed (prefill with `logits: 'all'`: [batch, m, vocab]). */
  logits: Tensor;
  /** With `sampling`: the token chosen for each sequence and its log-probability (temperature 1). */
  sampled?: { tokens: Int32Array; logProbs: Float64Array };
}

function result(r: NativeDecodeResult): DecodeResult {
  const out: DecodeResult = { logits: new Tensor(r.logits) };
  if (r.tokens && r.logProbs) out.sampled = { tokens: r.tokens, logProbs: r.logProbs };
  return out;
}

function nativeSampling(sampling: DecodeSampling | undefined) {
  if (!sampling) return undefined;
  check(typeof sampling === 'object', 'sampling must be an object { uniforms, temperature?, topK?, topP? }');
  const { uniforms, temperature, topK, topP } = sampling;
  check(Array.isArray(uniforms) || uniforms instanceof Float64Array, 'sampling.uniforms must hold one draw in [0, 1) per sequence (an array or Float64Array)');
  return { temperature, topK, topP, uniforms: uniforms instanceof Float64Array ? uniforms : [...uniforms] };
}

export class Decoder {
  readonly handle: NativeDecoder;
  /** The model's context: the most positions a session holds. */
  readonly context: number;

  /**
   * Starts a session at position 0. @throws MaskmixError INVALID_ARGUMENT for an autoencoder, or for mode 'cached' on a model without a
   * cache, DISPOSED for a disposed model.
   */
  constructor(model: LanguageModel, options?: DecoderOptions);
  /** @internal */
  constructor(model: LanguageModel, options: DecoderOptions, handle: NativeDecoder);
  constructor(
    readonly model: LanguageModel,
    options: DecoderOptions = {},
    handle?: NativeDecoder,
  ) {
    check(model.predictsNextToken, "decoding needs a next-token model; an autoencoder reconstructs its input: use reconstruct() or 'maskmix autoencoder eval'");
    check(options !== null && typeof options === 'object', 'Decoder options must be an object { batch?, mode?, precision?, weights? }');
    checkEvalPrecision(options.precision);
    check(options.weights === undefined || options.weights === 'model' || options.weights === 'int8', "weights must be 'model' or 'int8'");
    this.handle = handle ?? new (native().Decoder)(model.handle, options);
    this.context = model.config.context;
  }

  /** Sequences decoded side by side. */
  get batch(): number {
    return this.handle.batch;
  }

  /** Tokens fed so far (per sequence). */
  get position(): number {
    return this.handle.position;
  }

  /** Device memory the session holds, in bytes. */
  get cacheBytes(): number {
    return this.handle.cacheBytes;
  }

  get mode(): 'cached' | 'full-prefix' {
    return this.handle.mode;
  }

  /**
   * Feeds m ≥ 1 tokens per sequence (`tokens`: batch rows of m, row after row) and returns the logits of the last
   * position, or of all m with `logits: 'all'`.
   * @throws MaskmixError CONTEXT_FULL when position + m would pass the context (weights indexed by absolute
   *   position fix it at the training length), BUSY while another call of this session runs.
   */
  async prefill(
    tokens: Int32Array | readonly number[],
    options: { logits?: 'last' | 'all'; sampling?: DecodeSampling } = {},
  ): Promise<DecodeResult> {
    const ids = tokenIds(tokens);
    check(ids.length > 0 && ids.length % this.batch === 0, `prefill needs m ≥ 1 tokens for each of the ${this.batch} sequences`);
    return result(await this.handle.prefill(ids, { logits: options.logits, sampling: nativeSampling(options.sampling) }));
  }

  /** Feeds one token per sequence and returns the logits [batch, vocab] of the next position. */
  async step(tokens: Int32Array | readonly number[] | number, options: { sampling?: DecodeSampling } = {}): Promise<DecodeResult> {
    return result(await this.handle.step(tokenIds(tokens), { sampling: nativeSampling(options.sampling) }));
  }

  /**
   * Greedy generation in one native call: feeds `first` (one token per sequence), then each step's argmax, `count`
   * steps in all, and returns the argmax after each step as `tokens[b·count + i]` (the last is not fed). Nothing
   * crosses back to JavaScript per token; on a GPU, models whose decoding state steps at a device-held position
   * (the repeat mixers but Toeplitz; linear mixers, whose caches then take a fixed form — rings of the pattern's
   * reach, a lattice's row per slot — that `cacheBytes` counts: on a GPU it stays allocated for the graph, on the
   * CPU the next step() or prefill() frees it) replay one captured CUDA graph per token (`graphed`); on the CPU they
   * run that same step eagerly (but for attention- and dense-pattern linear mixers, whose fixed form is read whole at
   * every step: they keep step()'s path). Under precision 'auto' that graph
   * reads bf16 copies of the Linear weights taken at capture time; a later weight change makes it capture again.
   * For column, row and mixed repeat mixers at small batch (≤ 2 at d1024) the graph holds maskmix's own decoding kernels (`fused`:
   * 4 launches per layer instead of ~20); MASKMIX_FUSED_DECODE=0 in the environment keeps the generic graph. Under
   * 'auto' the fused kernels multiply bf16 weights by float32 activations where the generic graph and step() round
   * activations to bf16 too, so their greedy tokens can part from step()'s after some tokens (in fp32 they are equal).
   * With the decoder option weights 'int8' they read int8 weights instead (`int8Weights` in the result). With
   * MASKMIX_DECODE_TENSOR_CORES=1 in the environment at capture, their bf16 products run on tensor cores, the
   * activations rounded to bf16 first as the generic graph does (`tensorCores`; needs widths that are multiples of 256).
   * @throws MaskmixError CONTEXT_FULL when position + count would pass the context.
   */
  async greedy(
    first: Int32Array | readonly number[] | number,
    count: number,
  ): Promise<{ tokens: Int32Array; graphed: boolean; fused: boolean; int8Weights: boolean; tensorCores: boolean }> {
    check(Number.isInteger(count) && count >= 1, 'count must be a positive integer');
    return this.handle.greedy(tokenIds(first, 'first'), count);
  }

  /**
   * An independent session at the same position: both continue identically from here. With `copies` > 1 every
   * sequence is repeated that many times (batch b becomes b·copies, copies adjacent): prefill a prompt once, then
   * continue it several ways side by side.
   */
  async clone(options: { copies?: number } = {}): Promise<Decoder> {
    check(options.copies === undefined || (Number.isInteger(options.copies) && options.copies >= 1), 'copies must be a positive integer');
    return new Decoder(this.model, {}, await this.handle.clone(options));
  }

  /** Back to position 0, dropping the cached states. */
  reset(): void {
    this.handle.reset();
  }

  /** Frees the states now; later calls fail with DISPOSED. */
  dispose(): void {
    this.handle.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
