// The fused output projection + cross-entropy against a written-out computation and central finite differences
// (fp64), with ignored targets and with several chunk sizes (the chunking must not change the result).
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/native.js';
import { Tensor } from '../../lib/tensor.js';
import { randomFloat64 } from '../helpers.js';

const N = 6;
const D = 4;
const V = 7;
const IGNORE = 0;
const targets = BigInt64Array.from([3n, 0n, 6n, 1n, 0n, 2n]); // two ignored

/** mean over non-ignored rows of logsumexp(h·Wᵀ) − (h·Wᵀ)[target]. */
function referenceLoss(h: Float64Array, w: Float64Array): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < N; i++) {
    if (targets[i] === BigInt(IGNORE)) continue;
    const logits = Array.from({ length: V }, (_, v) => {
      let s = 0;
      for (let k = 0; k < D; k++) s += h[i * D + k] * w[v * D + k];
      return s;
    });
    const max = Math.max(...logits);
    const lse = max + Math.log(logits.reduce((a, l) => a + Math.exp(l - max), 0));
    sum += lse - logits[Number(targets[i])];
    count++;
  }
  return sum / count;
}

function run(h: Float64Array, w: Float64Array, chunkRows?: number) {
  return native().linearCrossEntropy(
    Tensor.from(h, [N, D]).handle,
    Tensor.from(w, [V, D]).handle,
    Tensor.from(targets, [N]).handle,
    IGNORE,
    chunkRows,
  );
}

describe('linear cross-entropy (fused output projection + loss)', () => {
  const h = randomFloat64(N * D, 11);
  const w = randomFloat64(V * D, 12);

  it('equals the written-out loss and counts only non-ignored targets, for any chunk size', () => {
    for (const chunk of [undefined, 1, 2, 5, 100]) {
      const out = run(h, w, chunk);
      expect(out.targets).toBe(4);
      expect(out.loss).toBeCloseTo(referenceLoss(h, w), 12);
    }
  });

  it('has gradients equal to central finite differences, the same for every chunk size', () => {
    const eps = 1e-6;
    const full = run(h, w);
    const gh = full.gradHidden.toTypedArray() as Float64Array;
    const gw = full.gradWeight.toTypedArray() as Float64Array;
    for (let i = 0; i < h.length; i++) {
      const p = Float64Array.from(h);
      const m = Float64Array.from(h);
      p[i] += eps;
      m[i] -= eps;
      expect(gh[i]).toBeCloseTo((referenceLoss(p, w) - referenceLoss(m, w)) / (2 * eps), 7);
    }
    for (let i = 0; i < w.length; i++) {
      const p = Float64Array.from(w);
      const m = Float64Array.from(w);
      p[i] += eps;
      m[i] -= eps;
      expect(gw[i]).toBeCloseTo((referenceLoss(h, p) - referenceLoss(h, m)) / (2 * eps), 7);
    }
    // Rows with an ignored target get exactly zero gradient.
    for (const row of [1, 4]) for (let k = 0; k < D; k++) expect(gh[row * D + k]).toBe(0);
    const chunked = run(h, w, 2);
    const ghc = chunked.gradHidden.toTypedArray() as Float64Array;
    for (let i = 0; i < gh.length; i++) expect(ghc[i]).toBeCloseTo(gh[i], 14);
  });
});
