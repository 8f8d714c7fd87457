// The int8 copy of a matrix that decoders with weights 'int8' hand to the fused GPU kernels
// (native/decode/quantized_rows.h), checked on the CPU against the arithmetic it promises: one scale per row,
// max |w| / 127; values the nearest integers to w / scale, within [-127, 127]; so each value is within scale / 2.
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/native.js';
import { Tensor } from '../../lib/tensor.js';
import { randomFloat64 } from '../helpers.js';

const ROWS = 5;
const COLS = 24;

function quantize(w: Float32Array, rows = ROWS, cols = COLS) {
  using input = Tensor.from(w, [rows, cols]);
  const q = native().quantizeRows(input.handle);
  using values = new Tensor(q.values);
  using scales = new Tensor(q.scales);
  return { dtype: values.dtype, shape: values.shape, values: values.toTypedArray() as Int8Array, scales: scales.toTypedArray() as Float32Array };
}

describe('int8 row quantisation for decoding', () => {
  it('gives each row the scale max|w|/127 and values within half a step of w', () => {
    const w = Float32Array.from(randomFloat64(ROWS * COLS, 3), (v, i) => v * (1 + Math.floor(i / COLS))); // rows of growing range
    const q = quantize(w);
    expect(q.dtype).toBe('int8');
    expect(q.shape).toEqual([ROWS, COLS]);
    for (let r = 0; r < ROWS; r++) {
      const row = w.subarray(r * COLS, (r + 1) * COLS);
      const max = Math.max(...Array.from(row, Math.abs));
      expect(q.scales[r]).toBeCloseTo(max / 127, 6);
      let reachesLimit = false;
      for (let c = 0; c < COLS; c++) {
        const v = q.values[r * COLS + c];
        expect(Math.abs(v)).toBeLessThanOrEqual(127);
        expect(v).toBe(Math.round(row[c] / q.scales[r]) || 0); // the nearest integer (ties aside: none in random data)
        expect(Math.abs(v * q.scales[r] - row[c])).toBeLessThanOrEqual(q.scales[r] / 2 + 1e-7);
        reachesLimit ||= Math.abs(v) === 127;
      }
      expect(reachesLimit).toBe(true); // the largest |w| of the row maps to ±127
    }
  });

  it('keeps an all-zero row at scale 0 and values 0', () => {
    const w = new Float32Array(2 * 8);
    w.set([0.5, -1, 0.25, 0, 0, 0, 0, 1], 8);
    const q = quantize(w, 2, 8);
    expect(Array.from(q.scales)).toEqual([0, 1 / 127].map((x) => Math.fround(x)));
    expect(Array.from(q.values.subarray(0, 8))).toEqual(new Array(8).fill(0));
    expect(Array.from(q.values.subarray(8))).toEqual([64, -127, 32, 0, 0, 0, 0, 127]);
  });

  it('refuses what is not a floating-point matrix', () => {
    using vector = Tensor.from(new Float32Array(4), [4]);
    expect(() => native().quantizeRows(vector.handle)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
  });
});
