/**
 * Small seeded randomness for data handling. Splits and batch orders must be the same on every machine and every
 * run with the same seed, so nothing here touches Math.random.
 */
import { check } from '../errors.js';

/** A generator of uniform numbers in [0, 1). */
export type Rng = () => number;

/**
 * The mulberry32 generator: 32 bits of state, fast, and good enough for shuffling data (not for cryptography).
 * Any finite number is accepted as a seed; it is reduced to 32 bits.
 */
export function mulberry32(seed: number): Rng {
  check(Number.isFinite(seed), `seed must be a finite number, got ${seed}`);
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Derives an independent 32-bit seed from a seed and a stream number (for example an epoch), so that stream k
 * can be produced directly without first drawing streams 0 … k-1.
 */
export function deriveSeed(seed: number, stream: number): number {
  // Two rounds of a murmur-style finaliser over the pair; nearby inputs give unrelated outputs.
  let h = (seed >>> 0) ^ Math.imul(stream >>> 0, 0x9e3779b9);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h ^ Math.floor(stream / 4294967296), 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}

/** Shuffles `items` in place (Fisher–Yates) with `rng`, and returns it. */
export function shuffleInPlace<A extends { length: number; [index: number]: unknown }>(items: A, rng: Rng): A {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}

/** A seeded random ordering of 0 … n-1. */
export function permutation(n: number, rng: Rng): Int32Array {
  check(Number.isInteger(n) && n >= 0, `permutation size must be a non-negative integer, got ${n}`);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  shuffleInPlace(order, rng);
  return order;
}
