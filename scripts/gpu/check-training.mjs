#!/usr/bin/env node
// GPU correctness checks for issue 4 (run on a GPU machine after `npm run build`; results go to stdout):
//  1. fused blocks (our CUDA kernels, fp32) vs the module-by-module blocks on the GPU: loss and gradients;
//  2. gradients on the GPU (fp32, fused kernels) vs the same weights on the CPU in float64;
//  3. 200 bf16 training steps on the Brown corpus, fused vs unfused: the two loss curves.
import { LanguageModel, Tensor, Trainer, batches, loadBrownCorpus, packSequences, splitDocuments, toTokenizerJson, trainBpe, Tokenizer } from '../../dist/lib/index.js';
import { relError } from './relative-error.mjs';

const device = process.argv[2] ?? 'cuda';
const rng = (seed) => () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

async function gradients(model, batch) {
  const { loss, gradients } = await model.lossGradients(batch);
  return { loss, grads: Object.fromEntries(Object.entries(gradients).map(([k, t]) => [k, Float64Array.from(t.toTypedArray())])) };
}

function worst(a, b) {
  let name = '', err = 0;
  for (const k of Object.keys(a.grads)) { const e = relError(a.grads[k], b.grads[k]); if (e > err) { err = e; name = k; } }
  return { name, err };
}

const configs = {
  mixer: { kind: 'mixer', vocabSize: 500, dModel: 128, nLayers: 2, context: 64, seed: 1 },
  llama: { kind: 'llama', vocabSize: 500, dModel: 128, nHeads: 2, nLayers: 2, context: 64, seed: 1 },
  // The LayerNorm backward's row groups: d 1024 spans four warps, d 320 two with the second part idle.
  'mixer d1024': { kind: 'mixer', vocabSize: 500, dModel: 1024, nLayers: 2, context: 64, seed: 1 },
  'mixer d320': { kind: 'mixer', vocabSize: 500, dModel: 320, nLayers: 2, context: 64, seed: 1 },
};
const r = rng(7);
const tokens = Int32Array.from({ length: 4 * 64 }, () => 1 + Math.floor(r() * 499));
const batch = { tokens, batch: 4 };

for (const [label, config] of Object.entries(configs)) {
  const fused = await LanguageModel.create({ ...config, device, fused: true });
  const plain = await LanguageModel.create({ ...config, device, fused: false });
  const a = await gradients(fused, batch), b = await gradients(plain, batch);
  const w1 = worst(a, b);
  console.log(`[1] ${label}: fused vs module-by-module on ${device} (fp32): loss ${a.loss.toFixed(6)} vs ${b.loss.toFixed(6)}, worst gradient rel. error ${w1.err.toExponential(2)} (${w1.name})`);
  const cpu = await LanguageModel.create({ ...config, device: 'cpu', dtype: 'float64' });
  cpu.loadStateDict(Object.fromEntries(Object.entries(fused.stateDict()).map(([k, t]) => [k, Tensor.from(Float64Array.from(t.toTypedArray()), t.shape)])));
  const c = await gradients(cpu, batch);
  const w2 = worst(a, c);
  console.log(`[2] ${label}: ${device} fp32 fused vs CPU float64: loss ${a.loss.toFixed(8)} vs ${c.loss.toFixed(8)}, worst gradient rel. error ${w2.err.toExponential(2)} (${w2.name})`);
  for (const m of [fused, plain, cpu]) m.dispose();
}

// 3. Loss curves on real text, bf16 autocast, fused vs unfused, same seed and batches.
const docs = loadBrownCorpus();
const split = splitDocuments(docs, { valFraction: 0.05, seed: 0 });
const tokenizer = Tokenizer.fromJSON(toTokenizerJson(trainBpe(split.train, { vocabSize: 4096 })));
const data = packSequences(await tokenizer.encodeBatch(split.train), { context: 128, eosId: 0 });
for (const kind of ['mixer', 'llama']) {
  const curves = {};
  for (const fusedFlag of [true, false]) {
    const base = kind === 'mixer' ? { kind, dModel: 256, nLayers: 4 } : { kind, dModel: 256, nLayers: 4, nHeads: 4 };
    const model = await LanguageModel.create({ ...base, vocabSize: 4096, context: 128, seed: 0, device, fused: fusedFlag });
    const trainer = new Trainer(model, { learningRate: 1e-3, warmupSteps: 20, totalSteps: 200 });
    const it = batches(data, 32, { seed: 0 });
    const losses = [];
    for (let s = 0; s < 200; s++) losses.push((await trainer.step({ tokens: it.next().value, batch: 32 })).loss);
    curves[fusedFlag] = losses;
    model.dispose();
  }
  const mean = (xs) => xs.reduce((p, q) => p + q, 0) / xs.length;
  const windows = [[0, 10], [50, 60], [100, 110], [190, 200]];
  const rows = windows.map(([s, e]) => `steps ${s + 1}-${e}: fused ${mean(curves.true.slice(s, e)).toFixed(4)} unfused ${mean(curves.false.slice(s, e)).toFixed(4)}`);
  const maxGap = Math.max(...curves.true.map((v, i) => Math.abs(v - curves.false[i])));
  console.log(`[3] ${kind} bf16 200 steps (d256 L4 n128 b32, Brown):\n    ${rows.join('\n    ')}\n    largest per-step gap ${maxGap.toFixed(4)}`);
}
