/**
 * Token ids entering a native call. An Int32Array passes as it is (the native side checks it against the
 * vocabulary); a plain array or a single number is checked here first, because converting it to an Int32Array
 * would silently turn 2.7 into 2, NaN or 'a' into 0 (padding) and 2**32+5 into 5.
 *
 * Codes: something that is not an integer (NaN, 2.7, a string) is INVALID_ARGUMENT; an integer that no
 * vocabulary can hold (negative, or ≥ 2^31) is TOKEN_OUT_OF_RANGE, as an id ≥ the vocabulary is natively.
 */
import { MaskmixError } from './errors.js';

const LIMIT = 2 ** 31;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n (a BigInt)`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return value === null ? 'null' : typeof value;
}

/**
 * Checks one id; `vocabSize`, when given, is its exclusive upper bound.
 * @throws MaskmixError INVALID_ARGUMENT for a non-integer, TOKEN_OUT_OF_RANGE for an integer out of range.
 */
export function checkTokenId(value: unknown, what: string, vocabSize = LIMIT): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new MaskmixError('INVALID_ARGUMENT', `${what} is ${describe(value)}: a token id must be an integer`);
  }
  const bound = Math.min(vocabSize, LIMIT);
  if (value < 0 || value >= bound) {
    throw new MaskmixError('TOKEN_OUT_OF_RANGE', `${what} = ${value} is outside [0, ${bound < LIMIT ? bound : '2^31'})`);
  }
  return value;
}

/**
 * Token ids as an Int32Array: an Int32Array unchanged, a number as one id, an array (or another typed array) id
 * by id. `what` names the argument in messages ("tokens[3] is NaN …").
 */
export function tokenIds(tokens: unknown, what = 'tokens'): Int32Array {
  if (tokens instanceof Int32Array) return tokens;
  if (typeof tokens === 'number') return Int32Array.of(checkTokenId(tokens, what));
  const arrayLike = Array.isArray(tokens) || (ArrayBuffer.isView(tokens) && !(tokens instanceof DataView));
  if (!arrayLike) {
    throw new MaskmixError('INVALID_ARGUMENT', `${what} must be an Int32Array, an array of token ids or one id, got ${describe(tokens)}`);
  }
  const list = tokens as ArrayLike<unknown>;
  const out = new Int32Array(list.length);
  for (let i = 0; i < list.length; i++) out[i] = checkTokenId(list[i], `${what}[${i}]`);
  return out;
}
