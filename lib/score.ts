/**
 * Scoring text: the log-probability of every next token. Texts longer than the model's context are scored in
 * overlapping windows (stride context/2), each token predicted from up to `context` tokens before it.
 */
import { check } from './errors.js';
import type { LanguageModel } from './model.js';

export interface TokenScores {
  tokens: number[];
  /** logprobs[i] = log p(tokens[i+1] | tokens[..i]); one fewer than tokens. */
  logprobs: number[];
}

export async function scoreTokens(model: LanguageModel, tokens: readonly number[]): Promise<TokenScores> {
  check(model.predictsNextToken, "scoring needs a next-token model; an autoencoder reconstructs its input: evaluate it with 'maskmix autoencoder eval' (evaluateReconstruction)");
  check(tokens.length > 0, 'there is nothing to score: the text encodes to no tokens');
  const n = model.config.context;
  const logprobs: number[] = [];
  if (tokens.length <= n) {
    if (tokens.length > 1) logprobs.push(...(await model.logProbs(tokens)));
    return { tokens: [...tokens], logprobs };
  }
  const stride = Math.max(1, Math.floor(n / 2));
  // Each window scores the targets no earlier window scored.
  for (let start = 0; ; start += stride) {
    const end = Math.min(start + n, tokens.length);
    const window = await model.logProbs(tokens.slice(start, end));
    const firstNewTarget = logprobs.length + 1; // index in `tokens` of the next unscored target
    for (let target = firstNewTarget; target < end; target++) logprobs.push(window[target - start - 1]);
    if (end === tokens.length) break;
  }
  return { tokens: [...tokens], logprobs };
}
