// Times the triangular solve of generalized linear mixing (native/ops/linear_mixing.h) on random inputs: the dense
// solve (one (I − B) block, O(n²·d)) against chunked forward substitution over the pattern's offsets
// (O(n·(K + c)·d)), forward alone and forward + backward, for each pattern with B and a few lengths.
//   npx tsx scripts/bench/linear-solve.ts [--lengths 256,512,1024,2048] [--heads 4] [--batch 8] [--width 64] [--chunk 64]
//     [--patterns first-order,…] [--threads N]
import { native } from '../../lib/native.js';
import { Tensor } from '../../lib/tensor.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const lengths = flag('lengths', '256,512,1024,2048').split(',').map(Number);
const H = Number(flag('heads', '4'));
const B = Number(flag('batch', '8'));
const E = Number(flag('width', '64'));
const chunk = Number(flag('chunk', '64'));
if (args.includes('--threads')) native().setNumThreads(Number(flag('threads', '2')));
const patterns = flag('patterns', 'first-order,kth-order,pow2,pow2-lattice,square,square-lattice,dense').split(',');

function random(length: number, scale: number): Float32Array {
  let s = 12345;
  return Float32Array.from({ length }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648 - 0.5) * 2 * scale;
  });
}

function timeMs(fn: () => void, reps: number): number {
  fn(); // warm-up
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const n8 = (v: number) => v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2).padStart(8);
console.log(`H=${H} b=${B} head width=${E}, static coefficients, float32, ${native().runtimeInfo().numThreads} threads; ms (median)`);
console.log(`${'pattern'.padEnd(15)} ${'n'.padStart(5)} ${'K'.padStart(4)}  ${'dense fwd'.padStart(9)} ${'chunk fwd'.padStart(9)}  ${'dense f+b'.padStart(9)} ${'chunk f+b'.padStart(9)}`);
for (const pattern of patterns) {
  for (const n of lengths) {
    const spec = { pattern, context: n, order: 4, window: 8 };
    const K = native().linearPatternReads!(spec, 0).slots.length;
    const x = Tensor.from(random(H * n * B * E, 1), [H, n, B, E]).handle;
    const alpha = Tensor.from(random(H * n, 1), [H, 1, n, 1]).handle;
    const beta = Tensor.from(random(H * n * K, 0.5 / K), [H, 1, n, K]).handle;
    const gy = Tensor.from(random(H * n * B * E, 1), [H, n, B, E]).handle;
    const reps = n >= 2048 ? 2 : 3;
    const forward = (solve: 'dense' | 'chunked') => timeMs(() => native().linearMixing!(x, alpha, beta, null, spec, solve, chunk).dispose(), reps);
    const both = (solve: 'dense' | 'chunked') => timeMs(() => void native().linearMixingBackward!(x, alpha, beta, null, spec, solve, chunk, gy), reps);
    console.log(`${pattern.padEnd(15)} ${String(n).padStart(5)} ${String(K).padStart(4)}  ${n8(forward('dense'))}  ${n8(forward('chunked'))}  ${n8(both('dense'))}  ${n8(both('chunked'))}`);
  }
}
