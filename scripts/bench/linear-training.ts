// Training-step ablation of the linear mixer's `linearSolve` (lib/model-config.ts): whole Trainer steps (forward,
// backward, AdamW) of a small model with the dense triangular solve against chunked forward substitution, per
// pattern and length, through the training bench's maskmix side (lib/bench/training-bench.ts: median step time
// after warm-up, initial loss). Equal initial losses show the two solves did the same work.
//   npx tsx scripts/bench/linear-training.ts [--lengths 512,1024] [--patterns first-order,pow2,square-lattice]
//     [--solves dense,chunked] [--width 64] [--layers 2] [--heads 4] [--batch 4] [--coefficients static]
//     [--warmup 2] [--steps 5] [--device cpu] [--threads N]
import { benchWorkload } from '../../lib/bench/training-bench.js';
import type { ModelConfigInput } from '../../lib/model-config.js';
import { native } from '../../lib/native.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const lengths = flag('lengths', '512,1024').split(',').map(Number);
const patterns = flag('patterns', 'first-order,pow2,square-lattice').split(',');
const solves = flag('solves', 'dense,chunked').split(',');
const d = Number(flag('width', '64'));
const layers = Number(flag('layers', '2'));
const heads = Number(flag('heads', '4'));
const batch = Number(flag('batch', '4'));
const coefficients = flag('coefficients', 'static');
const device = flag('device', 'cpu');
if (args.includes('--threads')) native().setNumThreads(Number(flag('threads', '2')));

const threads = native().runtimeInfo().numThreads;
console.log(`d=${d} L=${layers} H=${heads} batch ${batch}, ${coefficients} coefficients, V=512, float32, ${device} (${threads} threads); ms per training step (median)`);
const header = ['pattern'.padEnd(15), 'n'.padStart(5), ...solves.map((s) => `${s} ms`.padStart(11)), ...solves.slice(1).map((s) => `${solves[0]}/${s}`.padStart(14)), 'loss₀'.padStart(8)];
console.log(header.join(' '));
// One untimed run first: the process's first steps (allocator growth, lazy initialisation) would otherwise land in
// the first row's timings.
const warmModel = { kind: 'linear', vocabSize: 512, dModel: d, nLayers: layers, nHeads: heads, context: lengths[0], pattern: patterns[0], coefficients } as ModelConfigInput;
await benchWorkload({ name: 'warm-up', model: warmModel, batch }, { device, warmup: 1, steps: 1, references: [] });
for (const pattern of patterns) {
  for (const n of lengths) {
    const ms: number[] = [];
    const losses: number[] = [];
    for (const linearSolve of solves) {
      const model = { kind: 'linear', vocabSize: 512, dModel: d, nLayers: layers, nHeads: heads, context: n, pattern, coefficients, linearSolve } as ModelConfigInput;
      const result = await benchWorkload(
        { name: `linear-${pattern}-n${n}-${linearSolve}`, model, batch },
        { device, warmup: Number(flag('warmup', '2')), steps: Number(flag('steps', '5')), references: [] },
      );
      ms.push(result.sides[0].msPerStep);
      losses.push(result.sides[0].lossFirst);
    }
    const cells = [pattern.padEnd(15), String(n).padStart(5), ...ms.map((v) => v.toFixed(1).padStart(11)), ...ms.slice(1).map((v) => (ms[0] / v).toFixed(2).padStart(14))];
    // One initial loss when the solves agree (they must: all are exact); every one otherwise.
    const same = losses.every((l) => Math.abs(l - losses[0]) < 1e-4);
    console.log([...cells, same ? losses[0].toFixed(4).padStart(8) : losses.map((l) => l.toFixed(4)).join('/')].join(' '));
  }
}
