#!/usr/bin/env node
// GPU checks of the training options added without a GPU (run on a GPU machine after `npm run build`; the device
// defaults to cuda, `node scripts/gpu/check-training-options.mjs cpu` is the dry run). Each line prints what it
// compared and the number; nothing here is timed.
//  1. gradient accumulation: k = 2 micro-batches vs one step on the whole batch (fp32 and bf16 autocast);
//  2. the Llama-block autoencoder: fused vs module blocks (fp32 gradients), and 100 bf16 steps learn;
//  3. the indirect retrieval mixer: device fp32 logits vs CPU float64 with the same weights, and a planted task;
//  4. generalized linear mixing: linearSolve 'dense' vs 'chunked' on the device (loss and gradients).
import {
  LanguageModel,
  RetrievalMixer,
  Tensor,
  Trainer,
  evaluateIndirectRetrieval,
  evaluateReconstruction,
  mulberry32,
  trainIndirectRetrieval,
} from '../../dist/lib/index.js';
import { relError } from './relative-error.mjs';

const device = process.argv[2] ?? 'cuda';
const rng = mulberry32(7);
const randomTokens = (count, vocab) => Int32Array.from({ length: count }, () => 1 + Math.floor(rng() * (vocab - 1)));

/** The largest relative error over named arrays, and where. */
function worst(a, b) {
  let name = '', err = 0;
  for (const k of Object.keys(b)) { const e = relError(a[k], b[k]); if (e > err) { err = e; name = k; } }
  return `${err.toExponential(2)} (${name})`;
}

const values = (state) => Object.fromEntries(Object.entries(state).map(([k, t]) => [k, Float64Array.from(t.toTypedArray())]));

async function gradients(model, batch) {
  const { loss, gradients: g } = await model.lossGradients(batch);
  return { loss, grads: values(g) };
}

// 1. Gradient accumulation.
for (const precision of device === 'cpu' ? ['fp32'] : ['fp32', 'bf16']) {
  const config = { kind: 'mixer', vocabSize: 500, dModel: 128, nLayers: 2, context: 64, seed: 1, device };
  const [whole, accumulated] = [await LanguageModel.create(config), await LanguageModel.create(config)];
  const train = { learningRate: 1e-3, precision, gradClip: 1 };
  const reference = new Trainer(whole, train);
  const trainer = new Trainer(accumulated, { ...train, gradientAccumulation: 2 });
  const losses = [];
  for (let step = 0; step < 3; step++) {
    const batch = { tokens: randomTokens(8 * 64, 500), batch: 8 };
    const [r, a] = [await reference.step(batch), await trainer.step(batch)];
    losses.push(`${r.loss.toFixed(5)}/${a.loss.toFixed(5)}`);
  }
  console.log(`[1] gradient accumulation ${precision} on ${device}: losses whole/accumulated ${losses.join(' ')}; parameters after 3 steps, worst rel. error ${worst(values(accumulated.stateDict()), values(whole.stateDict()))}`);
  for (const x of [reference, trainer, whole, accumulated]) x.dispose();
}

// 2. Llama-block autoencoder.
for (const variant of ['plain', 'memory']) {
  const config = { kind: 'autoencoder', blocks: 'llama', variant, vocabSize: 500, dModel: 128, nLayers: 2, nHeads: 2, context: 32, seed: 1, device };
  const [fused, plain] = [await LanguageModel.create({ ...config, fused: true }), await LanguageModel.create({ ...config, fused: false })];
  const batch = { tokens: randomTokens(4 * 32, 500), batch: 4 };
  const [a, b] = [await gradients(fused, batch), await gradients(plain, batch)];
  console.log(`[2] llama autoencoder ${variant} on ${device}: fused vs modules loss ${a.loss.toFixed(6)} vs ${b.loss.toFixed(6)}, worst gradient rel. error ${worst(a.grads, b.grads)}`);
  const trainer = new Trainer(fused, { learningRate: 3e-3, warmupSteps: 0 });
  const first = (await trainer.step(batch)).loss;
  for (let i = 0; i < 100; i++) await trainer.step(batch);
  const stats = await evaluateReconstruction(fused, { data: batch.tokens, numSequences: 4, context: 32, realTokens: 4 * 32 });
  console.log(`    100 steps on one batch: loss ${first.toFixed(3)} → ${(await trainer.step(batch)).loss.toFixed(3)}, reconstruction accuracy ${(100 * stats.accuracy).toFixed(1)}%`);
  for (const x of [trainer, fused, plain]) x.dispose();
}

// 3. Indirect retrieval mixer.
{
  const [c, d] = [16, 64];
  const model = await RetrievalMixer.create({ dModel: d, nLayers: 2, context: c, seed: 3, device });
  const cpu = await RetrievalMixer.create({ dModel: d, nLayers: 2, context: c, seed: 3, dtype: 'float64' });
  cpu.loadStateDict(Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, Tensor.from(Float64Array.from(t.toTypedArray()), t.shape)])));
  const inputs = Float32Array.from({ length: 4 * c * d }, () => rng() * 2 - 1);
  const [x, y] = [await model.logits(inputs, 4), await cpu.logits(Float64Array.from(inputs), 4)];
  console.log(`[3] retrieval mixer on ${device}: fp32 logits vs CPU float64, rel. error ${relError(Float64Array.from(x), Float64Array.from(y)).toExponential(2)}`);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const planted = (count) => {
    const queries = Float32Array.from({ length: count * d }, normal);
    return { queries: { vectors: queries, count, dim: d }, targets: { vectors: queries.map((q) => q + 0.3 * normal()), count, dim: d } };
  };
  const before = await evaluateIndirectRetrieval(model, planted(128), { rounds: 2 });
  await trainIndirectRetrieval(model, planted(1024), { steps: 300, samples: 64, learningRate: 3e-3, seed: 1 });
  const after = await evaluateIndirectRetrieval(model, planted(128), { rounds: 2 });
  console.log(`    planted matches (c ${c}, d ${d}): held-out CE ${before.loss.toFixed(3)} → ${after.loss.toFixed(3)} (chance ${before.chanceLoss.toFixed(3)}), top-1 ${(100 * before.top1).toFixed(1)}% → ${(100 * after.top1).toFixed(1)}%`);
  model.dispose();
  cpu.dispose();
}

// 4. Generalized linear mixing: the two training solves agree on the device.
for (const pattern of ['first-order', 'pow2-lattice', 'square-lattice']) {
  const config = { kind: 'linear', pattern, vocabSize: 500, dModel: 128, nLayers: 2, nHeads: 4, context: 256, seed: 1, device };
  const [dense, chunked] = [await LanguageModel.create({ ...config, linearSolve: 'dense' }), await LanguageModel.create({ ...config, linearSolve: 'chunked' })];
  const batch = { tokens: randomTokens(2 * 256, 500), batch: 2 };
  const [a, b] = [await gradients(dense, batch), await gradients(chunked, batch)];
  console.log(`[4] linear ${pattern} on ${device}: dense vs chunked solve loss ${a.loss.toFixed(6)} vs ${b.loss.toFixed(6)}, worst gradient rel. error ${worst(b.grads, a.grads)}`);
  dense.dispose();
  chunked.dispose();
}
