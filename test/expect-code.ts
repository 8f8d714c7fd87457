/** Assertions that a call fails with a MaskmixError of a given code (kept apart from helpers.ts: no native addon). */
import { expect } from 'vitest';

import { MaskmixError } from '../lib/errors.js';

function expectMaskmixError(error: unknown, code: string): void {
  expect(error).toBeInstanceOf(MaskmixError);
  expect((error as MaskmixError).code).toBe(code);
}

/** `fn()` must throw a MaskmixError whose code is `code`. */
export function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (error) {
    expectMaskmixError(error, code);
    return;
  }
  throw new Error(`expected a MaskmixError ${code}`);
}

/** The promise (or the promise `fn` returns, or what it throws) must reject with a MaskmixError of that code. */
export async function expectCodeAsync(promise: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    expectMaskmixError(error, code);
    return;
  }
  throw new Error(`expected a MaskmixError ${code}`);
}
