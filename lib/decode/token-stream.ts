/**
 * `TokenStream`: generation as an async iterable of tokens, decoded with a `Decoder` — the prompt is prefilled
 * once, then every token costs one `step` (O(1) for a repeat mixer, O(t) for the cached masked mixer or a
 * KV-cached transformer) instead of a forward over the whole prefix. Sampling draws come from one seeded
 * generator, one draw per token, so a seed gives the same text as the full-prefix path.
 */
import { check } from '../errors.js';
import { mulberry32 } from '../data/random.js';
import type { GeneratedToken, GenerateOptions } from '../generate.js';
import type { LanguageModel } from '../model.js';
import { Decoder } from './decoder.js';

export class TokenStream implements AsyncIterable<GeneratedToken> {
  private readonly prompt: number[];

  constructor(
    readonly model: LanguageModel,
    prompt: readonly number[],
    readonly options: GenerateOptions,
  ) {
    this.prompt = [...prompt];
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<GeneratedToken> {
    const { options, model } = this;
    check(this.prompt.length > 0, 'the prompt must hold at least one token');
    check(Number.isInteger(options.maxNewTokens) && options.maxNewTokens >= 0, 'maxNewTokens must be a non-negative integer');
    if (options.maxNewTokens === 0) return;
    const rng = mulberry32(options.seed ?? 0);
    const context = model.config.context;
    const decoder = new Decoder(model, { mode: options.decoder ?? 'auto', precision: options.precision });
    try {
      const tokens = [...this.prompt];
      for (let i = 0; i < options.maxNewTokens; i++) {
        options.signal?.throwIfAborted();
        const sampling = { temperature: options.temperature, topK: options.topK, topP: options.topP, uniforms: [rng()] };
        // At the start, and whenever the context is full, (re)read the last `context` tokens: weights indexed by
        // absolute position cannot slide, so past the context every token costs a forward over the window, as it
        // does without a cache.
        const r =
          i === 0 || decoder.position === context
            ? (decoder.reset(), await decoder.prefill(tokens.slice(-context), { sampling }))
            : await decoder.step(tokens[tokens.length - 1], { sampling });
        r.logits.dispose();
        const next = { token: r.sampled!.tokens[0], logProb: r.sampled!.logProbs[0] };
        tokens.push(next.token);
        yield next;
        if (options.stopToken !== undefined && next.token === options.stopToken) return;
      }
    } finally {
      decoder.dispose();
    }
  }
}
