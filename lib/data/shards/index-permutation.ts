/**
 * A seeded random permutation of 0 … n-1 computed one element at a time, in O(1) memory. Shuffling the sequences of
 * a large corpus this way needs no order array (40 MB per 10 M sequences), and any position of any epoch can be
 * looked up directly, which makes resuming exact and cheap.
 *
 * It is a balanced Feistel network on the smallest even number of bits covering n, which is a bijection on that
 * power-of-two range; indices that land at or beyond n are encrypted again ("cycle walking") until they fall
 * inside, which restricts the bijection to 0 … n-1. Fewer than four rounds of walking are needed on average.
 */
import { check } from '../../errors.js';
import { deriveSeed } from '../random.js';

const ROUNDS = 6;

/** A fixed permutation of `0 … size-1`, chosen by `seed`. */
export class IndexPermutation {
  readonly size: number;
  private readonly halfBits: number;
  private readonly mask: number;
  private readonly keys: Uint32Array;

  /** Throws `INVALID_ARGUMENT` unless `size` is an integer in [1, 2^31]. */
  constructor(size: number, seed: number) {
    check(Number.isInteger(size) && size >= 1 && size <= 2 ** 31, `permutation size must be an integer in [1, 2^31], got ${size}`);
    check(Number.isFinite(seed), `seed must be a finite number, got ${seed}`);
    this.size = size;
    const bits = Math.max(2, Math.ceil(Math.log2(size)));
    this.halfBits = Math.ceil(bits / 2);
    this.mask = 2 ** this.halfBits - 1;
    this.keys = Uint32Array.from({ length: ROUNDS }, (_, round) => deriveSeed(seed, round));
  }

  /** The element at position `index` (0 ≤ index < size). */
  at(index: number): number {
    check(Number.isInteger(index) && index >= 0 && index < this.size, `index must be an integer in [0, ${this.size}), got ${index}`);
    let x = index;
    do x = this.encrypt(x);
    while (x >= this.size);
    return x;
  }

  private encrypt(x: number): number {
    const h = this.halfBits;
    let left = Math.floor(x / 2 ** h) & this.mask;
    let right = x & this.mask;
    for (let r = 0; r < ROUNDS; r++) {
      const next = (left ^ roundFunction(right, this.keys[r])) & this.mask;
      left = right;
      right = next;
    }
    return left * 2 ** h + right;
  }
}

// A 32-bit integer hash of (value, key); any well-mixing function keeps the Feistel network a bijection.
function roundFunction(value: number, key: number): number {
  let h = Math.imul(value ^ key, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca77);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae3d);
  return (h ^ (h >>> 16)) >>> 0;
}
