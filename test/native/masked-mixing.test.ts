// The causal masked mixing op against independent arithmetic: an explicit triple loop for the forward pass and
// central finite differences (fp64) for every gradient entry.
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/native.js';
import { Tensor } from '../../lib/tensor.js';
import { randomFloat64 } from '../helpers.js';

const B = 2;
const T = 5;
const D = 3;

/** y[t,b,c] = Σ_{s≤t} W[t,s]·x[s,b,c] + β[t], written out (token-major layout, as the op takes it). */
function referenceForward(x: Float64Array, w: Float64Array, bias: Float64Array): Float64Array {
  const y = new Float64Array(T * B * D);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++)
      for (let c = 0; c < D; c++) {
        let sum = bias[t];
        for (let s = 0; s <= t; s++) sum += w[t * T + s] * x[(s * B + b) * D + c];
        y[(t * B + b) * D + c] = sum;
      }
  return y;
}

function forward(x: Float64Array, w: Float64Array, bias: Float64Array): Float64Array {
  const out = native().maskedMixing(
    Tensor.from(x, [T, B, D]).handle,
    Tensor.from(w, [T, T]).handle,
    Tensor.from(bias, [T]).handle,
  );
  return out.toTypedArray() as Float64Array;
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);

describe('masked mixing op', () => {
  const x = randomFloat64(B * T * D, 1);
  const w = randomFloat64(T * T, 2); // upper triangle deliberately non-zero: the op must ignore it
  const bias = randomFloat64(T, 3);
  const gradOut = randomFloat64(B * T * D, 4);

  it('computes the causal mix exactly as the written-out sum, ignoring the upper triangle', () => {
    const y = forward(x, w, bias);
    const expected = referenceForward(x, w, bias);
    for (let i = 0; i < y.length; i++) expect(y[i]).toBeCloseTo(expected[i], 12);
  });

  it('has gradients equal to central finite differences in fp64', () => {
    const grads = native().maskedMixingBackward(
      Tensor.from(x, [T, B, D]).handle,
      Tensor.from(w, [T, T]).handle,
      Tensor.from(bias, [T]).handle,
      Tensor.from(gradOut, [T, B, D]).handle,
    );
    // loss(x, w, b) = <forward(x, w, b), gradOut>, so d loss / d input = the op's backward applied to gradOut.
    const loss = (xx: Float64Array, ww: Float64Array, bb: Float64Array) => dot(forward(xx, ww, bb), gradOut);
    const eps = 1e-6;
    const check = (analytic: Float64Array, input: Float64Array, which: 0 | 1 | 2) => {
      for (let i = 0; i < input.length; i++) {
        const plus = Float64Array.from(input);
        const minus = Float64Array.from(input);
        plus[i] += eps;
        minus[i] -= eps;
        const args = (v: Float64Array): [Float64Array, Float64Array, Float64Array] =>
          which === 0 ? [v, w, bias] : which === 1 ? [x, v, bias] : [x, w, v];
        const numeric = (loss(...args(plus)) - loss(...args(minus))) / (2 * eps);
        expect(Math.abs(analytic[i] - numeric)).toBeLessThan(1e-7 * Math.max(1, Math.abs(numeric)));
      }
    };
    check(grads.x.toTypedArray() as Float64Array, x, 0);
    check(grads.weight.toTypedArray() as Float64Array, w, 1);
    check(grads.bias.toTypedArray() as Float64Array, bias, 2);
    // Above the diagonal the weight has no influence, so its gradient is exactly zero.
    const gw = grads.weight.toTypedArray() as Float64Array;
    for (let t = 0; t < T; t++) for (let s = t + 1; s < T; s++) expect(gw[t * T + s]).toBe(0);
  });

  it('rejects mismatched shapes and dtypes with typed errors', () => {
    const xs = Tensor.from(x, [T, B, D]).handle;
    expect(() => native().maskedMixing(xs, Tensor.from(randomFloat64(16, 5), [4, 4]).handle, Tensor.from(bias, [T]).handle)).toThrow(
      expect.objectContaining({ code: 'SHAPE_MISMATCH' }),
    );
    expect(() =>
      native().maskedMixing(xs, Tensor.from(new Float32Array(T * T), [T, T]).handle, Tensor.from(bias, [T]).handle),
    ).toThrow(expect.objectContaining({ code: 'DTYPE_MISMATCH' }));
  });
});
