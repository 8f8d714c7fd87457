/** Model parameters as plain arrays, and their largest difference: for tests that compare two training runs. */
import type { LanguageModel } from '../lib/index.js';

/** Every parameter of `model` by name, copied out as numbers. */
export function parameterArrays(model: LanguageModel): Record<string, number[]> {
  return Object.fromEntries(Object.entries(model.stateDict()).map(([name, t]) => [name, Array.from(t.toTypedArray() as ArrayLike<number>)]));
}

/** The largest |a − b| over all parameters; throws when the two do not hold the same names and sizes. */
export function maxAbsDiff(a: Record<string, number[]>, b: Record<string, number[]>): number {
  const names = Object.keys(a).sort();
  if (names.join() !== Object.keys(b).sort().join()) throw new Error(`different parameters: ${names.join()} vs ${Object.keys(b).sort().join()}`);
  let max = 0;
  for (const name of names) {
    if (a[name]!.length !== b[name]!.length) throw new Error(`${name}: ${a[name]!.length} vs ${b[name]!.length} values`);
    a[name]!.forEach((v, i) => (max = Math.max(max, Math.abs(v - b[name]![i]!))));
  }
  return max;
}
