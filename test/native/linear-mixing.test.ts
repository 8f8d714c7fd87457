// Generalized linear mixing (native/ops/linear_pattern.h, linear_mixing.h): the patterns' read sets against the
// notes' definitions and [checked] facts (lattice nesting, cache sizes); the op's three solves (dense triangular
// solve, chunked forward substitution, row by row) against the recurrence written out here in fp64; its
// gradients against central finite differences.
import { describe, expect, it } from 'vitest';

import { LINEAR_PATTERNS, type LinearPattern } from '../../lib/model-config.js';
import { native, type NativeLinearPatternSpec } from '../../lib/native.js';
import { Tensor } from '../../lib/tensor.js';
import { randomFloat64 } from '../helpers.js';

const reads = (spec: NativeLinearPatternSpec, i: number) => native().linearPatternReads!(spec, i);

describe('linear mixing patterns', () => {
  it('read the positions the notes define (0-indexed rows)', () => {
    const at = (pattern: LinearPattern, i: number, extra: Partial<NativeLinearPatternSpec> = {}) => reads({ pattern, context: 64, ...extra }, i).reads;
    expect(at('first-order', 20)).toEqual([19]);
    expect(at('first-order', 0)).toEqual([]);
    expect(at('kth-order', 20, { order: 3 })).toEqual([17, 18, 19]);
    expect(at('kth-order', 1, { order: 3 })).toEqual([0]);
    expect(at('dense', 5)).toEqual([0, 1, 2, 3, 4]);
    expect(at('pow2', 20)).toEqual([4, 12, 16, 18, 19]); // offsets 1, 2, 4, 8, 16
    expect(at('square', 20)).toEqual([3, 10, 15, 18, 19]); // offsets 1, 2, 5, 10, 17
    expect(at('attention', 20)).toEqual([]);
    expect(reads({ pattern: 'attention', context: 64 }, 3).lagsA).toBe(64);
    expect(reads({ pattern: 'local', context: 64, window: 5 }, 3).lagsA).toBe(5);
    // Lattice offsets lie in (f(k) − a_k, f(k)], with a_k = 1, 1, 2, 4, 8 (2^k) and 1, 1, 3, 6, 12, 12, 12, 24 (k²+1).
    const lattice = { 'pow2-lattice': [1, 1, 2, 4, 8, 16], 'square-lattice': [1, 1, 3, 6, 12, 12, 12, 24] } as const;
    const f = { 'pow2-lattice': (k: number) => 2 ** k, 'square-lattice': (k: number) => k * k + 1 } as const;
    for (const pattern of ['pow2-lattice', 'square-lattice'] as const) {
      for (let i = 60; i < 64; i++) {
        const slots = reads({ pattern, context: 64 }, i).slots;
        lattice[pattern].forEach((a, k) => {
          if (k >= slots.length) return;
          const offset = i - slots[k];
          expect(offset, `${pattern} i=${i} k=${k}`).toBeGreaterThan(f[pattern](k) - a);
          expect(offset).toBeLessThanOrEqual(f[pattern](k));
          expect((slots[k] + 1) % a).toBe(0); // 1-indexed positions on the lattice a_k·ℕ
        });
      }
    }
  });

  it('lattice read sets are nested (S_i ⊆ S_{i−1} ∪ {i−1}) and peak at the notes\' sizes up to n = 20000', () => {
    const n = 20000;
    const peak: Record<string, number> = {};
    for (const pattern of ['pow2-lattice', 'square-lattice'] as const) {
      const spec = { pattern, context: n };
      let previous = new Set<number>();
      let max = 0;
      for (let i = 0; i < n; i++) {
        const r = reads(spec, i);
        for (const j of r.reads) if (!previous.has(j) && j !== i - 1) expect.fail(`${pattern}: row ${i} reads ${j}, not held after row ${i - 1}`);
        // What a decoding cache keeps after row i − 1 is exactly what row i reads.
        if (i > 0) expect(r.reads).toEqual(reads(spec, i - 1).retained);
        previous = new Set(r.reads);
        max = Math.max(max, r.reads.length);
      }
      peak[pattern] = max;
    }
    expect(peak).toEqual({ 'pow2-lattice': 15, 'square-lattice': 103 });
  });

  it('plain f-patterns keep a window of their largest offset; first/kth order a constant one', () => {
    expect(reads({ pattern: 'pow2', context: 100 }, 80).retained).toHaveLength(64);
    expect(reads({ pattern: 'square', context: 100 }, 90).retained).toHaveLength(82);
    expect(reads({ pattern: 'first-order', context: 100 }, 50).retained).toEqual([50]);
    expect(reads({ pattern: 'kth-order', context: 100, order: 3 }, 50).retained).toEqual([48, 49, 50]);
    expect(reads({ pattern: 'dense', context: 100 }, 50).retained).toHaveLength(51);
    expect(reads({ pattern: 'dense', context: 100 }, 99).retained).toHaveLength(0); // nothing reads past the context
  });
});

const H = 2;
const M = 13;
const B = 2;
const E = 3;

interface Case {
  spec: NativeLinearPatternSpec;
  C: number; // coefficient rows per head: 1 (shared by the batch) or B
  x: Float64Array;
  alpha: Float64Array;
  beta: Float64Array | null;
  bias: Float64Array;
  KA: number;
  slots: number[][];
}

function makeCase(pattern: LinearPattern, C: number, seed: number): Case {
  const spec = { pattern, context: M, order: 3, window: 4 };
  const slots = Array.from({ length: M }, (_, i) => reads(spec, i).slots);
  const KA = reads(spec, 0).lagsA;
  const KB = slots[0].length;
  return {
    spec,
    C,
    x: randomFloat64(H * M * B * E, seed),
    alpha: randomFloat64(H * C * M * KA, seed + 1),
    beta: KB > 0 ? randomFloat64(H * C * M * KB, seed + 2, 0.4) : null,
    bias: randomFloat64(H * M, seed + 3),
    KA,
    slots,
  };
}

/** y_i = Σ_{l ≤ i} α_{i,l}·x_{i−l} + bias_i + Σ_k β_{i,k}·y_{src(i,k)}, row after row, in fp64. */
function reference(c: Case): Float64Array {
  const y = new Float64Array(H * M * B * E);
  const KB = c.slots[0].length;
  const idx = (h: number, i: number, b: number, e: number) => ((h * M + i) * B + b) * E + e;
  for (let h = 0; h < H; h++)
    for (let i = 0; i < M; i++)
      for (let b = 0; b < B; b++) {
        const cb = c.C === 1 ? 0 : b;
        for (let e = 0; e < E; e++) {
          let sum = c.bias[h * M + i];
          for (let l = 0; l < c.KA && l <= i; l++) sum += c.alpha[((h * c.C + cb) * M + i) * c.KA + l] * c.x[idx(h, i - l, b, e)];
          for (let k = 0; k < KB; k++) {
            const j = c.slots[i][k];
            if (j >= 0) sum += c.beta![((h * c.C + cb) * M + i) * KB + k] * y[idx(h, j, b, e)];
          }
          y[idx(h, i, b, e)] = sum;
        }
      }
  return y;
}

function tensors(c: Case) {
  const KB = c.slots[0].length;
  return {
    x: Tensor.from(c.x, [H, M, B, E]),
    alpha: Tensor.from(c.alpha, [H, c.C, M, c.KA]),
    beta: c.beta ? Tensor.from(c.beta, [H, c.C, M, KB]) : null,
    bias: Tensor.from(c.bias, [H, M]),
  };
}

describe('linear mixing op', () => {
  for (const pattern of LINEAR_PATTERNS) {
    it(`${pattern}: the dense triangular solve, chunked forward substitution and row-by-row recurrence equal the recurrence written out`, () => {
      for (const C of [1, B]) {
        const c = makeCase(pattern, C, 30 + C);
        const expected = reference(c);
        const t = tensors(c);
        for (const [solve, chunk] of [['dense', 64], ['chunked', 4], ['chunked', 5], ['sequential', 1], ['auto', 64]] as const) {
          const y = native().linearMixing!(t.x.handle, t.alpha.handle, t.beta?.handle ?? null, t.bias.handle, c.spec, solve, chunk);
          const got = new Tensor(y).toTypedArray() as Float64Array;
          let err = 0;
          for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - expected[i]));
          expect(err, `${pattern} C=${C} ${solve}/${chunk}`).toBeLessThan(1e-10);
        }
      }
    });
  }

  it('dense B in long chunks (past rows through a scattered coefficient block, not a gather) equals the dense solve, gradients too', () => {
    const spec = { pattern: 'dense', context: 100 };
    const n = 100;
    const KB = 99;
    const x = Tensor.from(randomFloat64(H * n * B * E, 3), [H, n, B, E]);
    const alpha = Tensor.from(randomFloat64(H * n, 4), [H, 1, n, 1]);
    const beta = Tensor.from(randomFloat64(H * n * KB, 5, 0.02), [H, 1, n, KB]);
    const run = (solve: 'dense' | 'chunked', chunk: number) =>
      new Tensor(native().linearMixing!(x.handle, alpha.handle, beta.handle, null, spec, solve, chunk)).toTypedArray() as Float64Array;
    const dense = run('dense', 64);
    const chunked = run('chunked', 40); // 40 rows × 99 slots > 2048: the block path
    let err = 0;
    for (let i = 0; i < dense.length; i++) err = Math.max(err, Math.abs(dense[i] - chunked[i]));
    expect(err).toBeLessThan(1e-10);
    // Its hand-written backward against autograd through the dense solve.
    const gy = Tensor.from(randomFloat64(H * n * B * E, 6), [H, n, B, E]).handle;
    const grads = (solve: 'dense' | 'chunked') => native().linearMixingBackward!(x.handle, alpha.handle, beta.handle, null, spec, solve, 40, gy);
    const a = grads('dense');
    const b = grads('chunked');
    for (const name of ['x', 'alpha', 'beta']) {
      const u = new Tensor(a[name]).toTypedArray() as Float64Array;
      const v = new Tensor(b[name]).toTypedArray() as Float64Array;
      let e = 0;
      let scale = 0;
      for (let i = 0; i < u.length; i++) {
        e = Math.max(e, Math.abs(u[i] - v[i]));
        scale = Math.max(scale, Math.abs(u[i]));
      }
      expect(e / scale, name).toBeLessThan(1e-10);
    }
  });

  for (const pattern of ['pow2-lattice', 'local', 'dense', 'attention'] as const) {
    it(`${pattern}: gradients of x, alpha, beta and bias equal central finite differences (fp64, dense and chunked)`, () => {
      const c = makeCase(pattern, B, 50);
      const t = tensors(c);
      const gy = randomFloat64(H * M * B * E, 51);
      const loss = (override: Partial<Case>) => {
        const o = tensors({ ...c, ...override });
        const y = new Tensor(native().linearMixing!(o.x.handle, o.alpha.handle, o.beta?.handle ?? null, o.bias.handle, c.spec, 'dense')).toTypedArray() as Float64Array;
        return y.reduce((s, v, i) => s + v * gy[i], 0);
      };
      for (const [solve, chunk] of [['dense', 64], ['chunked', 4]] as const) {
        const grads = native().linearMixingBackward!(t.x.handle, t.alpha.handle, t.beta?.handle ?? null, t.bias.handle, c.spec, solve, chunk,
          Tensor.from(gy, [H, M, B, E]).handle);
        for (const name of ['x', 'alpha', 'beta', 'bias'] as const) {
          const base = c[name];
          if (!base) continue;
          const g = new Tensor(grads[name]).toTypedArray() as Float64Array;
          for (const i of new Set([0, Math.floor(base.length / 2), base.length - 1, 7])) {
            const eps = 1e-6;
            const plus = Float64Array.from(base);
            plus[i] += eps;
            const minus = Float64Array.from(base);
            minus[i] -= eps;
            const numeric = (loss({ [name]: plus }) - loss({ [name]: minus })) / (2 * eps);
            expect(Math.abs(g[i] - numeric), `${pattern} ${solve} ${name}[${i}]`).toBeLessThan(1e-6 * Math.max(1, Math.abs(numeric)));
          }
        }
      }
    });
  }
});
