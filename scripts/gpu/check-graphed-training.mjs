#!/usr/bin/env node
// GPU check of the Trainer's cudaGraph option (native/train/graphed_training_step.h): copies of one model trained
// on the same batches, step by step and with the whole step captured as a CUDA graph and replayed. The learning
// rate changes every step (warm-up, then decay), so a graph that froze it would drift; a batch of another shape in
// the middle makes the trainer capture again; the repeat mixer's afterUpdate (decay clipping), multi-token
// prediction, the autoencoder and answer-only targets (a target mask) run inside the graph too. Prints, per model
// and precision, the largest loss difference over the steps and the worst relative difference of the parameters
// at the end, each beside the same differences between two step-by-step trainers; nothing is timed.
// Run on a GPU machine after `npm run build`: `node scripts/gpu/check-graphed-training.mjs`.
import { LanguageModel, Trainer, mulberry32 } from '../../dist/lib/index.js';
import { relError } from './relative-error.mjs';

const device = 'cuda';
const steps = 30;

function worstParameter(a, b) {
  let name = '', err = 0;
  for (const k of Object.keys(b)) {
    const e = relError(a[k].toTypedArray(), b[k].toTypedArray());
    if (e > err) { err = e; name = k; }
  }
  return [`${err.toExponential(2)} (${name})`, err];
}

const models = [
  { kind: 'mixer', vocabSize: 500, dModel: 128, nLayers: 2, context: 64 },
  { kind: 'llama', vocabSize: 500, dModel: 128, nLayers: 2, nHeads: 4, context: 64 },
  { kind: 'repeat', vocabSize: 500, dModel: 128, nLayers: 2, context: 64, structure: 'mixed' },
  { kind: 'mixer', vocabSize: 500, dModel: 128, nLayers: 2, context: 64, predictTokens: 2 },
  { kind: 'autoencoder', vocabSize: 500, dModel: 128, nLayers: 2, context: 64 },
];
// Two step-by-step trainers of one model do not agree bit for bit on a GPU (reductions by atomics round in any
// order), and Adam turns that noise into whole-size updates of parameters whose gradient is ~0 (the autoencoder's
// encoder only matters at its last position). So a third copy, trained step by step again, measures that spread,
// and the graph passes when it stays within a tolerance or three times the spread, whichever is larger.
let failures = 0;
for (const spec of models) {
  for (const precision of ['fp32', 'bf16']) {
    const config = { ...spec, seed: 3, device };
    const [stepwise, again, graphed] = [await LanguageModel.create(config), await LanguageModel.create(config), await LanguageModel.create(config)];
    const train = { learningRate: 2e-3, warmupSteps: 8, totalSteps: steps, minLrRatio: 0.1, precision, gradClip: 1 };
    const trainers = [new Trainer(stepwise, train), new Trainer(again, train), new Trainer(graphed, { ...train, cudaGraph: true })];
    const rng = mulberry32(11);
    let worstLoss = 0, spreadLoss = 0;
    let lastPair = '';
    for (let step = 0; step < steps; step++) {
      const rows = step === 12 ? 4 : 8;  // one batch of another shape: captured again, twice
      const tokens = Int32Array.from({ length: rows * 64 }, () => 1 + Math.floor(rng() * 499));
      const batch = { tokens, batch: rows };
      // Answer-only targets for the last third, and steps 20–23 run ahead of the host (no read-back).
      // (Multi-token prediction takes no target mask.)
      const targetMask = step >= 20 && !spec.predictTokens ? Int32Array.from(tokens, (_, i) => (i % 64 >= 32 ? 1 : 0)) : undefined;
      const readBack = !(step >= 20 && step < 24);
      const results = [];
      for (const t of trainers) results.push(await t.step(batch, { readBack, targetMask }));
      if (!readBack) continue;
      worstLoss = Math.max(worstLoss, Math.abs(results[0].loss - results[2].loss));
      spreadLoss = Math.max(spreadLoss, Math.abs(results[0].loss - results[1].loss));
      lastPair = `${results[0].loss.toFixed(5)}/${results[2].loss.toFixed(5)} (mean of ${results[2].stepsInMean})`;
      if (results[0].stepsInMean !== results[2].stepsInMean) failures++;
    }
    const [params, paramError] = worstParameter(graphed.stateDict(), stepwise.stateDict());
    const [spreadParams, paramSpread] = worstParameter(again.stateDict(), stepwise.stateDict());
    const [tolerance, paramTolerance] = precision === 'fp32' ? [1e-5, 1e-5] : [2e-2, 1e-2];
    const ok = worstLoss <= Math.max(tolerance, 3 * spreadLoss) && paramError <= Math.max(paramTolerance, 3 * paramSpread);
    if (!ok) failures++;
    console.log(`${spec.kind}${spec.predictTokens ? ` predicting ${spec.predictTokens} tokens` : ''} ${precision}: ${steps} steps, ` +
      `largest |loss difference| ${worstLoss.toExponential(2)} (stepwise twice: ${spreadLoss.toExponential(2)}) ${ok ? 'ok' : 'FAIL'}; ` +
      `last losses stepwise/graphed ${lastPair}; parameters worst rel. difference ${params} (stepwise twice: ${spreadParams})`);
    for (const x of [...trainers, stepwise, again, graphed]) x.dispose();
  }
}

// Clear refusals where a graph cannot be used.
const cpuModel = await LanguageModel.create({ ...models[0], seed: 1, device: 'cpu' });
const linear = await LanguageModel.create({ kind: 'linear', vocabSize: 500, dModel: 128, nLayers: 2, context: 64, device });
for (const [what, make] of [
  ['a CPU model', () => new Trainer(cpuModel, { cudaGraph: true })],
  ['a linear-mixing model (not checked yet)', () => new Trainer(linear, { cudaGraph: true })],
]) {
  try {
    make();
    console.log(`${what}: accepted — FAIL`);
    failures++;
  } catch (e) {
    console.log(`${what}: refused (${e.code}: ${e.message})`);
  }
}
cpuModel.dispose();
linear.dispose();
console.log(failures === 0 ? 'all graphed-training checks passed' : `${failures} graphed-training check(s) FAILED`);
process.exitCode = failures === 0 ? 0 : 1;
