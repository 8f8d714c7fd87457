#!/usr/bin/env node
// GPU checks of maskmix's AdamW kernel (kernels/adamw.cu) and the bf16 weight copies it writes beside the weights
// (tensor/compute_copies.h), both opt-in (MASKMIX_ADAMW=maskmix), against the default, PyTorch's fused AdamW with
// every product casting its weight, same model, seed and batches:
//  1. precision fp32, 10 steps with weight decay and clipping: every weight after them (relative error);
//  2. bf16 autocast, 30 steps, step by step and as a CUDA graph: the two loss curves;
//  3. a checkpoint-style change of the weights between graph replays reaches the graph's products (copies cast again).
// Usage: node scripts/gpu/check-adamw.mjs [device]   (one line per check; exit 1 on a failure). On 'cpu' both sides
// are the same optimizer and the graphed checks are left out: a dry run of the script itself.
import { LanguageModel, Tensor, Trainer } from '../../dist/lib/index.js';
import { check, exitWithChecks } from './check-report.mjs';
import { relError } from './relative-error.mjs';
import { withEnvs } from './with-env.mjs';

const device = process.argv[2] ?? 'cuda';
const config = { kind: 'mixer', vocabSize: 512, dModel: 256, nLayers: 2, context: 64, seed: 3, device };
let seed = 11;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const data = Array.from({ length: 30 }, () => ({ tokens: Int32Array.from({ length: 8 * 64 }, () => Math.floor(random() * 512)), batch: 8 }));
const OURS = { MASKMIX_ADAMW: 'maskmix' };

async function train(env, options, steps) {
  return withEnvs(env, async () => {
    const model = await LanguageModel.create(config);
    const trainer = new Trainer(model, { learningRate: 3e-3, weightDecay: 0.1, gradClip: 0.5, ...options });
    const losses = [];
    for (let s = 0; s < steps; s++) losses.push((await trainer.step(data[s], { readBack: true })).loss);
    const weights = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, Float64Array.from(t.toTypedArray())]));
    trainer.dispose();
    model.dispose();
    return { losses, weights };
  });
}

const ours = await train(OURS, { precision: 'fp32' }, 10), torch = await train({}, { precision: 'fp32' }, 10);
let worst = 0, worstName = '';
for (const k of Object.keys(torch.weights)) {
  const e = relError(ours.weights[k], torch.weights[k]);
  if (e > worst) [worst, worstName] = [e, k];
}
check('fp32, 10 steps: weights = PyTorch fused AdamW', worst < 1e-5, `worst relative error ${worst.toExponential(2)} (${worstName})`);

for (const cudaGraph of device === 'cpu' ? [false] : [false, true]) {
  const a = await train(OURS, { cudaGraph }, 30), b = await train({}, { cudaGraph }, 30);
  const gap = Math.max(...a.losses.map((v, i) => Math.abs(v - b.losses[i])));
  check(`bf16${cudaGraph ? ', CUDA graph' : ''}, 30 steps: loss curve = PyTorch fused AdamW + casts`, gap < 5e-3,
    `largest per-step gap ${gap.toFixed(5)} (last ${a.losses[29].toFixed(4)} vs ${b.losses[29].toFixed(4)})`);
}

// Weights loaded between replays: the graph reads bf16 copies, which must be cast again from the loaded weights.
if (device !== 'cpu') await withEnvs(OURS, async () => {
  const model = await LanguageModel.create(config);
  const fresh = model.stateDict();
  const saved = Object.fromEntries(Object.entries(fresh).map(([k, t]) => [k, Tensor.from(Float32Array.from(t.toTypedArray()), t.shape)]));
  const trainer = new Trainer(model, { learningRate: 2e-2, cudaGraph: true });
  for (let s = 0; s < 3; s++) await trainer.step(data[s]);
  model.loadStateDict(saved);
  const replayed = (await trainer.step(data[0], { readBack: true })).loss;
  const reference = await LanguageModel.create(config);
  const expected = (await reference.evalLoss(data[0])).loss;
  check('weights loaded between CUDA graph replays reach its products', Math.abs(replayed - expected) < 1e-2,
    `step loss ${replayed.toFixed(4)} vs the fresh model's ${expected.toFixed(4)}`);
  trainer.dispose();
  model.dispose();
  reference.dispose();
});
exitWithChecks();
