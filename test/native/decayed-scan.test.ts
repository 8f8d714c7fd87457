// The decayed running sum under every repeat structure (native/ops/decayed_scan.h) against the recurrence written
// out, in both parallel forms, and its gradients against central finite differences in fp64.
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/native.js';
import { Tensor } from '../../lib/tensor.js';
import { randomFloat64 } from '../helpers.js';

const G = 3;
const N = 4;
// γ = 0.93, 0.999 and 1 (no decay).
const logGamma = Float64Array.from([Math.log(0.93), Math.log(0.999), 0]);

/** S_t = γ·S_{t−1} + u_t, S_{−1} = init, one position at a time. */
function recurrence(u: Float64Array, t: number, lg: Float64Array, init?: Float64Array): Float64Array {
  const out = new Float64Array(G * t * N);
  for (let g = 0; g < G; g++)
    for (let c = 0; c < N; c++) {
      let s = init ? init[g * N + c] : 0;
      for (let i = 0; i < t; i++) {
        s = Math.exp(lg[g]) * s + u[(g * t + i) * N + c];
        out[(g * t + i) * N + c] = s;
      }
    }
  return out;
}

function scan(u: Float64Array, t: number, lg: Float64Array, init: Float64Array | undefined, strategy: string, chunk: number): Float64Array {
  const out = native().decayedScan(
    Tensor.from(u, [G, t, N]).handle,
    Tensor.from(lg, [G]).handle,
    init ? Tensor.from(init, [G, N]).handle : null,
    strategy,
    chunk,
  );
  return out.toTypedArray() as Float64Array;
}

const forms: Array<[string, number]> = [
  ['explicit', 0],
  ['chunked', 4],
  ['chunked', 5], // t not a multiple of the chunk
  ['chunked', 1],
  ['auto', 0],
];

describe('decayed scan op', () => {
  for (const t of [1, 7, 20]) {
    it(`equals the recurrence for t = ${t} in every form, with and without an initial state`, () => {
      const u = randomFloat64(G * t * N, t);
      const init = randomFloat64(G * N, 100 + t);
      for (const withInit of [false, true]) {
        const expected = recurrence(u, t, logGamma, withInit ? init : undefined);
        for (const [strategy, chunk] of forms) {
          const got = scan(u, t, logGamma, withInit ? init : undefined, strategy, chunk);
          for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - expected[i]), `${strategy}/${chunk}[${i}]`).toBeLessThan(1e-12);
        }
      }
    });
  }

  it('stays finite for long sequences with the strongest decay (no γ^−t anywhere)', () => {
    const t = 600;
    const u = randomFloat64(G * t * N, 9);
    const lg = Float64Array.from([Math.log(0.9), Math.log(0.9), Math.log(0.9)]);
    const expected = recurrence(u, t, lg);
    const got = scan(u, t, lg, undefined, 'chunked', 64);
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - expected[i])).toBeLessThan(1e-12);
  });

  it('has gradients equal to central finite differences in fp64 (u, log γ, initial state; both forms)', () => {
    const t = 9;
    const u = randomFloat64(G * t * N, 1);
    const init = randomFloat64(G * N, 2);
    const gradOut = randomFloat64(G * t * N, 3);
    const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);
    for (const [strategy, chunk] of [['explicit', 0], ['chunked', 4]] as Array<[string, number]>) {
      const grads = native().decayedScanBackward(
        Tensor.from(u, [G, t, N]).handle,
        Tensor.from(logGamma, [G]).handle,
        Tensor.from(init, [G, N]).handle,
        strategy,
        chunk,
        Tensor.from(gradOut, [G, t, N]).handle,
      );
      const inputs = { u, logGamma, init };
      const analytic = {
        u: grads.u.toTypedArray() as Float64Array,
        logGamma: grads.logGamma.toTypedArray() as Float64Array,
        init: grads.init!.toTypedArray() as Float64Array,
      };
      const eps = 1e-6;
      for (const name of ['u', 'logGamma', 'init'] as const) {
        for (let i = 0; i < inputs[name].length; i++) {
          const at = (delta: number) => {
            const v = { ...inputs, [name]: Float64Array.from(inputs[name]) };
            v[name][i] += delta;
            return dot(scan(v.u, t, v.logGamma, v.init, strategy, chunk), gradOut);
          };
          const numeric = (at(eps) - at(-eps)) / (2 * eps);
          expect(Math.abs(analytic[name][i] - numeric), `${strategy} ${name}[${i}]`).toBeLessThan(1e-7 * Math.max(1, Math.abs(numeric)));
        }
      }
    }
  });

  it('rejects mismatched shapes with typed errors', () => {
    const u = Tensor.from(randomFloat64(G * 5 * N, 1), [G, 5, N]).handle;
    expect(() => native().decayedScan(u, Tensor.from(new Float64Array(2), [2]).handle, null)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => native().decayedScan(u, Tensor.from(logGamma, [G]).handle, Tensor.from(new Float64Array(G), [G, 1]).handle)).toThrow(
      expect.objectContaining({ code: 'SHAPE_MISMATCH' }),
    );
    expect(() => native().decayedScan(u, Tensor.from(logGamma, [G]).handle, null, 'sideways')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
