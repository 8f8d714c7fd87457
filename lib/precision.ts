/**
 * The precision option of evaluation-style calls (evalLoss, embedTokens, Decoder, generate): 'auto' runs under
 * bf16 autocast on a GPU, 'fp32' never. One check so every entry point refuses a typo the same way, instead of
 * some treating it as 'auto'.
 */
import { check } from './errors.js';

export type EvalPrecision = 'auto' | 'fp32';

/** @throws MaskmixError INVALID_ARGUMENT unless `precision` is undefined, 'auto' or 'fp32'. */
export function checkEvalPrecision(precision: unknown): void {
  check(precision === undefined || precision === 'auto' || precision === 'fp32', `precision must be 'auto' or 'fp32', got ${JSON.stringify(precision) ?? String(precision)}`);
}
