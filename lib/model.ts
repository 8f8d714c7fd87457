/**
 * `LanguageModel`: a masked mixer (or, later, another architecture) living in libtorch. Every method that runs
 * the network is async and runs off the event loop; calls on one model run one after another.
 */
import { check } from './errors.js';
import { resolveModelConfig, type ModelConfig, type ModelConfigInput } from './model-config.js';
import { native, type NativeModel } from './native.js';
import { Tensor } from './tensor.js';

/** Token ids of `batch` sequences of equal length, row after row. */
export interface TokenBatch {
  tokens: Int32Array;
  batch: number;
}

/** Which loss {@link LanguageModel.lossGradients} computes (default: next-token cross-entropy). */
export interface LossObjective {
  objective?: 'next-token' | 'infonce';
  /** InfoNCE: sequences per sample (query, match, negatives), default 32. */
  infoNceGroup?: number;
  /** InfoNCE: temperature, default 0.02. */
  infoNceTemperature?: number;
  /** InfoNCE: the embedding token, default 'second-to-last'. */
  embeddingToken?: 'last' | 'second-to-last';
}

/** How the next token is chosen. */
export interface SamplingOptions {
  /** 0 picks the most likely token (greedy). Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 = all). */
  topP?: number;
}

function asTokens(tokens: Int32Array | readonly number[]): Int32Array {
  return tokens instanceof Int32Array ? tokens : Int32Array.from(tokens);
}

export class LanguageModel {
  /** @internal */
  constructor(readonly handle: NativeModel) {}

  /** Builds a model with fresh weights drawn from `config.seed`. @throws MaskmixError CONFIG_INVALID */
  static async create(config: ModelConfigInput): Promise<LanguageModel> {
    const resolved = resolveModelConfig(config);
    return new LanguageModel(await native().createModel(resolved));
  }

  /** The complete configuration the model was built from. */
  get config(): ModelConfig {
    return this.handle.config as ModelConfig;
  }

  get numParameters(): number {
    return this.handle.numParameters;
  }

  /**
   * Whether the model decodes with a cache (a `Decoder` in mode 'cached'): per-layer states so a new token does
   * not re-run the prefix. True for every built-in kind.
   */
  get cachedDecoding(): boolean {
    return this.handle.cachedDecoding;
  }

  /** Logits [batch, t, vocab] (float32) for `batch` sequences of t ≤ context tokens each. */
  async forward(tokens: Int32Array | readonly number[], batch = 1): Promise<Tensor> {
    return new Tensor(await this.handle.forward(asTokens(tokens), batch));
  }

  /**
   * Whether the model predicts each next token from the ones before it (every kind but 'autoencoder', which
   * reconstructs its input from an embedding of the whole sequence): scoring and generation need it.
   */
  get predictsNextToken(): boolean {
    return this.config.kind !== 'autoencoder';
  }

  /**
   * log p(token[i+1] | tokens[..i]) for i = 0 … t-2 of each sequence: a Float32Array of [batch, t-1]. For an
   * autoencoder ('autoencoder' kind), which reconstructs its input, log p(token[i] | the sequence's embedding, …)
   * for i = 0 … t-1: [batch, t].
   */
  async logProbs(tokens: Int32Array | readonly number[], batch = 1): Promise<Float32Array> {
    return this.handle.logProbs(asTokens(tokens), batch);
  }

  /**
   * Mean next-token cross-entropy (nats) over the non-pad targets of a batch, without gradients. On a GPU it runs
   * under bf16 autocast unless `precision: 'fp32'`.
   */
  async evalLoss(batch: TokenBatch, options: { precision?: 'auto' | 'fp32' } = {}): Promise<{ loss: number; targets: number }> {
    return this.handle.evalLoss(batch.tokens, batch.batch, options);
  }

  /**
   * The training loss of a batch and its gradient with respect to every parameter (by checkpoint name), without
   * updating anything.
   */
  async lossGradients(batch: TokenBatch, objective: LossObjective = {}): Promise<{ loss: number; gradients: Record<string, Tensor> }> {
    const r = await this.handle.lossGradients(batch.tokens, batch.batch, objective);
    return { loss: r.loss, gradients: Object.fromEntries(Object.entries(r.gradients).map(([k, v]) => [k, new Tensor(v)])) };
  }

  /**
   * Final hidden states [batch, d] (float32) at one token of each sequence: the retrieval embedding of paper §6.
   * Left-pad the sequences so that token is real text. On a GPU it runs under bf16 autocast unless
   * `precision: 'fp32'`. See `embed` in lib/retrieval for texts.
   */
  async embedTokens(
    batch: TokenBatch,
    options: { token?: 'last' | 'second-to-last'; precision?: 'auto' | 'fp32' } = {},
  ): Promise<Tensor> {
    return new Tensor(await this.handle.embed(batch.tokens, batch.batch, options));
  }

  /**
   * Chooses the token after `prefix` (the last `context` tokens of it are used). `uniform` is the random draw in
   * [0, 1) that drives sampling; generation code supplies it from a seeded generator.
   */
  async nextToken(
    prefix: Int32Array | readonly number[],
    options: SamplingOptions & { uniform?: number } = {},
  ): Promise<{ token: number; logProb: number }> {
    check(prefix.length > 0, 'the prefix must hold at least one token');
    return this.handle.nextToken(asTokens(prefix), options);
  }

  /** Views of the parameters by checkpoint name (SPEC §1 layout). They share memory with the model. */
  stateDict(): Record<string, Tensor> {
    const raw = this.handle.stateDict();
    return Object.fromEntries(Object.entries(raw).map(([name, t]) => [name, new Tensor(t)]));
  }

  /**
   * Copies named tensors into the model. Strict: every parameter must be given with its exact shape and nothing
   * else. @throws MaskmixError CHECKPOINT_INVALID listing what is missing, extra or mis-shaped.
   */
  loadStateDict(tensors: Record<string, Tensor>): void {
    this.handle.loadStateDict(Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, t.handle])));
  }

  /** Frees the weights now; later calls fail with DISPOSED. */
  dispose(): void {
    this.handle.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
