// The structured mixing of the repeat mixer (native/ops/repeat_mixing.h) against SPEC §5's matrices written out:
// y_t = Σ_{s≤t} M[t,s]·x_s + β_t per head, M built entry by entry from each structure's formula in fp64; and the
// op's gradients against central finite differences.
import { describe, expect, it } from 'vitest';

import { REPEAT_STRUCTURES, type RepeatStructure } from '../../lib/model-config.js';
import { native, type NativeRepeatWeights } from '../../lib/native.js';
import { Tensor } from '../../lib/tensor.js';
import { randomFloat64 } from '../helpers.js';

const H = 4;
const T = 7; // positions used (the context is longer: weights are sliced from position 0)
const n = 9;
const B = 2;
const E = 3; // head width
const K = 2; // kernel taps
const c = 1.7; // decay constant (a model uses max(1, n/512))
// δ per head: inside the clip range, below it and above it (clipped to 0.9 and 1).
const decay = Float64Array.from([0.95, 0.92, 0.85, 1.05]);

interface Params {
  weight: Float64Array;
  rowWeight: Float64Array;
  diagonal: Float64Array;
  bias: Float64Array;
  decay: Float64Array;
}

function params(structure: RepeatStructure): Params {
  return {
    weight: randomFloat64(H * (structure === 'kernel' ? K : 1) * n, 11),
    rowWeight: randomFloat64(H * n, 12),
    diagonal: randomFloat64(H * n, 13),
    bias: randomFloat64(H * n, 14),
    decay,
  };
}

/** M[h][t][s] from SPEC §5 (not used for the kernel structure). */
function matrix(structure: RepeatStructure, p: Params, h: number, t: number, s: number): number {
  if (s > t) return 0;
  const gamma = Math.min(1, Math.max(0.9, p.decay[h])) ** (1 / c);
  const decayed = gamma ** (t - s);
  const w = (i: number) => p.weight[h * n + i];
  const column = structure === 'column' || structure === 'column-diagonal' || (structure === 'mixed' && h < H - Math.floor(H / 2));
  switch (structure) {
    case 'toeplitz':
      return w(t - s);
    case 'combined':
      return (w(t) + p.rowWeight[h * n + s]) * decayed;
    case 'column-diagonal':
    case 'row-diagonal':
      if (s === t) return p.diagonal[h * n + t];
      return (column ? w(t) : w(s)) * decayed;
    default:
      return (column ? w(t) : w(s)) * decayed;
  }
}

/** The whole op written out: x [H, T, B, E] → y [H, T, B, E]. */
function reference(structure: RepeatStructure, x: Float64Array, p: Params): Float64Array {
  const y = new Float64Array(H * T * B * E);
  const xi = (h: number, s: number, b: number, e: number) => x[((h * T + s) * B + b) * E + e];
  for (let h = 0; h < H; h++) {
    const gamma = Math.min(1, Math.max(0.9, p.decay[h])) ** (1 / c);
    for (let t = 0; t < T; t++)
      for (let b = 0; b < B; b++)
        for (let e = 0; e < E; e++) {
          let sum = p.bias[h * n + t];
          for (let s = 0; s <= t; s++) {
            if (structure === 'kernel') {
              // y_t[e] = Σ_j w_{j,t}·Σ_{s≤t} γ^{t−s}·x_s[e + j − K + 1], zero outside the head.
              for (let j = 0; j < K; j++) {
                const channel = e + j - K + 1;
                if (channel >= 0) sum += p.weight[(h * K + j) * n + t] * gamma ** (t - s) * xi(h, s, b, channel);
              }
            } else {
              sum += matrix(structure, p, h, t, s) * xi(h, s, b, e);
            }
          }
          y[((h * T + t) * B + b) * E + e] = sum;
        }
  }
  return y;
}

function weights(structure: RepeatStructure, p: Params): NativeRepeatWeights {
  return {
    structure,
    weight: Tensor.from(p.weight, structure === 'kernel' ? [H, K, n] : [H, n]).handle,
    rowWeight: structure === 'combined' ? Tensor.from(p.rowWeight, [H, n]).handle : undefined,
    diagonal: structure.endsWith('-diagonal') ? Tensor.from(p.diagonal, [H, n]).handle : undefined,
    bias: Tensor.from(p.bias, [H, n]).handle,
    decay: structure === 'toeplitz' ? undefined : Tensor.from(p.decay, [H]).handle,
    decayConstant: c,
  };
}

function op(structure: RepeatStructure, x: Float64Array, p: Params): Float64Array {
  return native().repeatMixing(Tensor.from(x, [H, T, B, E]).handle, weights(structure, p)).toTypedArray() as Float64Array;
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);

describe('repeat mixing op', () => {
  const x = randomFloat64(H * T * B * E, 1);
  const gradOut = randomFloat64(H * T * B * E, 2);

  for (const structure of REPEAT_STRUCTURES) {
    it(`${structure}: equals its structured matrix applied per head (fp64)`, () => {
      const p = params(structure);
      const y = op(structure, x, p);
      const expected = reference(structure, x, p);
      for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - expected[i]), `${structure}[${i}]`).toBeLessThan(1e-12);
    });

    it(`${structure}: gradients equal central finite differences (fp64)`, () => {
      const p = params(structure);
      const grads = native().repeatMixingBackward(Tensor.from(x, [H, T, B, E]).handle, weights(structure, p), Tensor.from(gradOut, [H, T, B, E]).handle);
      const eps = 1e-6;
      const inputs: Record<string, Float64Array> = { x, weight: p.weight, bias: p.bias };
      if (structure !== 'toeplitz') inputs.decay = p.decay;
      if (structure === 'combined') inputs.rowWeight = p.rowWeight;
      if (structure.endsWith('-diagonal')) inputs.diagonal = p.diagonal;
      expect(Object.keys(grads).sort()).toEqual(Object.keys(inputs).sort());
      for (const [name, values] of Object.entries(inputs)) {
        const analytic = grads[name].toTypedArray() as Float64Array;
        // Every entry of the small tensors, a spread of the input's.
        const entries = values.length <= 40 ? values.map((_, i) => i) : Array.from({ length: 40 }, (_, k) => Math.floor((k * values.length) / 40));
        for (const i of entries) {
          const at = (delta: number) => {
            const v = Float64Array.from(values);
            v[i] += delta;
            return name === 'x' ? dot(op(structure, v, p), gradOut) : dot(op(structure, x, { ...p, [name]: v }), gradOut);
          };
          const numeric = (at(eps) - at(-eps)) / (2 * eps);
          expect(Math.abs(analytic[i] - numeric), `${structure} ${name}[${i}]`).toBeLessThan(1e-7 * Math.max(1, Math.abs(numeric)));
        }
      }
      // Outside the clip range (δ = 0.85 and 1.05) the decay has no gradient.
      if (structure !== 'toeplitz') {
        const gd = grads.decay.toTypedArray() as Float64Array;
        expect(gd[2]).toBe(0);
        expect(gd[3]).toBe(0);
      }
    });
  }

  it('names the fixed context when positions pass it, and rejects mis-shaped weights', () => {
    const p = params('column');
    const long = Tensor.from(randomFloat64(H * (n + 1) * B * E, 3), [H, n + 1, B, E]).handle;
    expect(() => native().repeatMixing(long, weights('column', p))).toThrow(
      expect.objectContaining({ code: 'CONTEXT_FULL', message: expect.stringMatching(/indexed by absolute position/) }),
    );
    const bad = { ...weights('combined', p), rowWeight: undefined };
    expect(() => native().repeatMixing(Tensor.from(x, [H, T, B, E]).handle, bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const wrong = { ...weights('row', p), weight: Tensor.from(new Float64Array(H * (n - 1)), [H, n - 1]).handle };
    expect(() => native().repeatMixing(Tensor.from(x, [H, T, B, E]).handle, wrong)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => native().repeatMixing(Tensor.from(x, [H, T, B, E]).handle, { ...weights('row', p), structure: 'diagonal' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});
