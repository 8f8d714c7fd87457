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
import { checkTokenId, tokenIds } from '../token-ids.js';
import { Decoder } from './decoder.js';

export class TokenStream implements AsyncIterable<GeneratedToken> {
  /** A copy of the prompt, checked (lib/token-ids.ts) when iteration starts. */
  private readonly prompt: unknown;

  constructor(
    readonly model: LanguageModel,
    prompt: readonly number[],
    readonly options: GenerateOptions,
  ) {
    this.prompt = Array.isArray(prompt) ? [...prompt] : prompt;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<GeneratedToken> {
    const { options, model } = this;
    check(options !== null && typeof options === 'object', 'generation needs options { maxNewTokens, … }');
    const prompt = Array.from(tokenIds(this.prompt, 'prompt'));
    check(prompt.length > 0, 'the prompt must hold at least one token');
    check(Number.isInteger(options.maxNewTokens) && options.maxNewTokens >= 0, 'maxNewTokens must be a non-negative integer');
    const seed = options.seed ?? 0;
    check(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32, `seed must be an integer in [0, 2^32), got ${seed}`);
    if (options.stopToken !== undefined) checkTokenId(options.stopToken, 'stopToken', model.config.vocabSize);
    if (options.maxNewTokens === 0) return;
    const rng = mulberry32(seed);
    const context = model.config.context;
    const decoder = new Decoder(model, { mode: options.decoder ?? 'auto', precision: options.precision });
    try {
      const tokens = prompt;
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
