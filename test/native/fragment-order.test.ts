// The layout the fused decoding kernels' tensor-core products read bf16 matrices in (native/decode/fragment_order.h),
// checked on the CPU: (1) where each value of a 256-value tile lands, derived here from the kernel's side (lane 4g + t's
// 16-byte load holds words (value half, chunk half) of values 2t, 2t + 1 of chunks g, g + 8); (2) that the products
// loop of kernels/repeat_decode.cu, replayed here with the m16n8k16 operand layouts of the PTX ISA (A rows = input
// chunks, batch row b0 in rows 0-7 and b1 in rows 8-15; B columns = weight chunks; the diagonals summed by the lanes
// holding them), gives each batch row's dot product with the weight row. The GPU side is scripts/gpu/
// check-graphed-decoding.mjs (part gemv-checks).
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/native.js';
import { Tensor } from '../../lib/tensor.js';
import { randomFloat64 } from '../helpers.js';

const TILE = 256;

function fragmentOrder(values: Float32Array, rows: number, cols: number): Float32Array {
  using input = Tensor.from(values, [rows, cols]);
  using out = new Tensor(native().fragmentOrder(input.handle));
  expect(out.shape).toEqual([rows, cols]);
  return out.toTypedArray() as Float32Array;
}

// The tile position whose value lane `lane` finds at value j (0-7) of its 16-byte load: word q = j / 2 is
// (value half, chunk half) = (q >> 1, q & 1), and the pair's element j % 2.
function sourceOf(lane: number, j: number): number {
  const g = lane >> 2, t = lane & 3, q = j >> 1, pair = j & 1;
  const valueHalf = q >> 1, chunkHalf = q & 1;
  const chunk = 8 * chunkHalf + g, value = 8 * valueHalf + 2 * t + pair;
  return 16 * chunk + value;
}

describe('tensor-core fragment order for decoding', () => {
  it('puts each value where its lane loads it', () => {
    const rows = 3, cols = 2 * TILE;
    const w = Float32Array.from({ length: rows * cols }, (_, i) => i); // exact in float32: the value names its place
    const expected = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++)
      for (let tile = 0; tile < cols / TILE; tile++)
        for (let lane = 0; lane < 32; lane++)
          for (let j = 0; j < 8; j++) expected[r * cols + tile * TILE + 8 * lane + j] = r * cols + tile * TILE + sourceOf(lane, j);
    expect(Array.from(fragmentOrder(w, rows, cols))).toEqual(Array.from(expected));
  });

  it('makes the products loop sum each batch row’s dot product (MMA operand layouts replayed)', () => {
    const cols = 2 * TILE;
    const w = Float32Array.from(randomFloat64(cols, 5));
    const xs = [Float32Array.from(randomFloat64(cols, 6)), Float32Array.from(randomFloat64(cols, 7))];
    const wf = fragmentOrder(w, 1, cols);
    const [x0, x1] = xs.map((x) => fragmentOrder(x, 1, cols));
    // Lane l's word q of a tile: the two values at 8l + 2q.
    const word = (a: Float32Array, tile: number, lane: number, q: number) => [a[tile * TILE + 8 * lane + 2 * q], a[tile * TILE + 8 * lane + 2 * q + 1]];
    const c = Array.from({ length: 32 }, () => [0, 0, 0, 0]); // each lane's accumulators
    for (let tile = 0; tile < cols / TILE; tile++)
      for (const [aWords, bWords] of [[[0, 0, 2, 2], [0, 2]], [[1, 1, 3, 3], [1, 3]]] as const) {
        // The kernel: A = {x0 word, x1 word, x0 word, x1 word}, B = {w word, w word}; then the PTX layouts place them.
        const A = Array.from({ length: 16 }, () => new Array(16).fill(0));
        const B = Array.from({ length: 16 }, () => new Array(8).fill(0));
        for (let lane = 0; lane < 32; lane++) {
          const g = lane >> 2, t = lane & 3;
          const a = [word(x0, tile, lane, aWords[0]), word(x1, tile, lane, aWords[1]), word(x0, tile, lane, aWords[2]), word(x1, tile, lane, aWords[3])];
          [A[g][2 * t], A[g][2 * t + 1]] = a[0]; // a0, a1: row g, columns 2t, 2t + 1
          [A[g + 8][2 * t], A[g + 8][2 * t + 1]] = a[1]; // a2, a3: row g + 8
          [A[g][2 * t + 8], A[g][2 * t + 9]] = a[2]; // a4, a5: columns + 8
          [A[g + 8][2 * t + 8], A[g + 8][2 * t + 9]] = a[3];
          const b = [word(wf, tile, lane, bWords[0]), word(wf, tile, lane, bWords[1])];
          [B[2 * t][g], B[2 * t + 1][g]] = b[0]; // b0, b1: rows 2t, 2t + 1 of column g
          [B[2 * t + 8][g], B[2 * t + 9][g]] = b[1];
        }
        for (let lane = 0; lane < 32; lane++) {
          const g = lane >> 2, t = lane & 3;
          const cell = (m: number, n: number) => A[m].reduce((s, v, k) => s + v * B[k][n], 0);
          c[lane][0] += cell(g, 2 * t);
          c[lane][1] += cell(g, 2 * t + 1);
          c[lane][2] += cell(g + 8, 2 * t);
          c[lane][3] += cell(g + 8, 2 * t + 1);
        }
      }
    // The lanes holding a diagonal element (t = g/2) carry the sums: c[g % 2] for b0, c[2 + g % 2] for b1.
    let sum0 = 0, sum1 = 0;
    for (let lane = 0; lane < 32; lane++) {
      if ((lane & 3) !== lane >> 3) continue;
      const odd = (lane >> 2) & 1;
      sum0 += c[lane][odd];
      sum1 += c[lane][2 + odd];
    }
    const dot = (x: Float32Array) => x.reduce((s, v, k) => s + v * w[k], 0);
    expect(sum0).toBeCloseTo(dot(xs[0]), 9);
    expect(sum1).toBeCloseTo(dot(xs[1]), 9);
  });

  it('refuses rows that are not whole tiles', () => {
    using ragged = Tensor.from(new Float32Array(2 * 128), [2, 128]);
    expect(() => native().fragmentOrder(ragged.handle)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
  });

  it('refuses the decoding GEMV probe on CPU tensors: CUDA_UNAVAILABLE without CUDA, INVALID_ARGUMENT with it', () => {
    using w = Tensor.from(new Float32Array(4 * TILE), [4, TILE]);
    using x = Tensor.from(new Float32Array(TILE), [1, TILE]);
    const code = native().runtimeInfo().builtWithCuda ? 'INVALID_ARGUMENT' : 'CUDA_UNAVAILABLE';
    expect(() => native().probeDecodeGemv(w.handle, x.handle, 'tensor-cores', false)).toThrow(expect.objectContaining({ code }));
  });
});
