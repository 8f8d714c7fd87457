import { describe, expect, it } from 'vitest';

import { deriveSeed, mulberry32, permutation, shuffleInPlace } from '../../lib/data/random.js';
import { MaskmixError } from '../../lib/errors.js';

describe('mulberry32', () => {
  it('repeats for a seed and differs between seeds', () => {
    const a = mulberry32(1);
    const b = mulberry32(1);
    const c = mulberry32(2);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
  });

  it('produces numbers in [0, 1) that look uniform', () => {
    const rng = mulberry32(123);
    const bins = new Array(10).fill(0);
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = rng();
      if (!(x >= 0 && x < 1)) outside++;
      else bins[Math.floor(x * 10)]++;
    }
    expect(outside).toBe(0);
    for (const n of bins) expect(Math.abs(n - 10_000)).toBeLessThan(500);
  });

  it('rejects a non-finite seed', () => {
    expect(() => mulberry32(Number.NaN)).toThrow(MaskmixError);
  });
});

describe('deriveSeed', () => {
  it('is a pure function giving distinct seeds for nearby streams', () => {
    expect(deriveSeed(7, 3)).toBe(deriveSeed(7, 3));
    const seeds = new Set(Array.from({ length: 1000 }, (_, e) => deriveSeed(7, e)));
    expect(seeds.size).toBe(1000);
    expect(deriveSeed(7, 0)).not.toBe(deriveSeed(8, 0));
  });
});

describe('permutation and shuffleInPlace', () => {
  it('returns every index exactly once', () => {
    const order = permutation(1000, mulberry32(5));
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect([...order]).not.toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(permutation(0, mulberry32(5))).toHaveLength(0);
  });

  it('shuffles plain arrays in place', () => {
    const items = ['a', 'b', 'c', 'd', 'e', 'f'];
    const same = shuffleInPlace(items, mulberry32(9));
    expect(same).toBe(items);
    expect([...items].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });
});
