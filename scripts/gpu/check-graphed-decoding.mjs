#!/usr/bin/env node
// GPU checks of graphed greedy decoding (native/decode/graphed_greedy_step.h), run on a GPU machine after the
// addon is built: for every repeat structure that steps on the device, Decoder.greedy (one CUDA graph replay per
// token) must pick exactly the tokens of a step()+argmax loop in fp32, and in bf16 ('auto') agree on nearly all;
// after a training step changes the weights the graph is captured again and still agrees. Then the speed of
// d1024 L8 batch-1 greedy decoding: ms per token, graphed, against the eager step loop.
// Usage: node scripts/gpu/check-graphed-decoding.mjs   (prints one line per check; exit 1 on a failure)
import { Decoder, LanguageModel, REPEAT_STRUCTURES, Trainer } from '../../dist/lib/index.js';

let failed = false;
const check = (name, ok, detail = '') => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
  failed ||= !ok;
};
const V = 500;
let seed = 11;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const randomTokens = (n) => Int32Array.from({ length: n }, () => 1 + Math.floor(random() * (V - 1)));

async function stepLoop(decoder, first, count) {
  const batch = first.length;
  const out = Array.from({ length: batch }, () => []);
  let next = Array.from(first);
  for (let i = 0; i < count; i++) {
    const logits = (await decoder.step(Int32Array.from(next))).logits.toTypedArray();
    next = next.map((_, b) => {
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[b * V + v] > logits[b * V + best]) best = v;
      return best;
    });
    next.forEach((t, b) => out[b].push(t));
  }
  return out.flat();
}

async function compare(model, precision, batch, count) {
  const prompt = randomTokens(batch * 16);
  const a = new Decoder(model, { batch, precision });
  const b = new Decoder(model, { batch, precision });
  await a.prefill(prompt);
  await b.prefill(prompt);
  const first = randomTokens(batch);
  const graphedRun = await a.greedy(first, count);
  const eager = await stepLoop(b, first, count);
  let same = 0;
  for (let i = 0; i < eager.length; i++) if (graphedRun.tokens[i] === eager[i]) same++;
  // The first disagreement ends the comparison of a sequence (everything after it follows other tokens).
  let prefix = 0;
  while (prefix < count && graphedRun.tokens[prefix] === eager[prefix]) prefix++;
  a.dispose();
  b.dispose();
  return { graphed: graphedRun.graphed, same, total: eager.length, prefix };
}

for (const structure of REPEAT_STRUCTURES) {
  const model = await LanguageModel.create({ kind: 'repeat', structure, vocabSize: V, dModel: 128, nLayers: 2, nHeads: 4, context: 256, seed: 4, device: 'cuda' });
  const fp32 = await compare(model, 'fp32', 3, 64);
  const expectGraph = structure !== 'toeplitz';
  check(`repeat ${structure} fp32: greedy ${fp32.graphed ? '(graph)' : '(eager)'} = step loop`, fp32.graphed === expectGraph && fp32.same === fp32.total, `${fp32.same}/${fp32.total}`);
  const bf16 = await compare(model, 'auto', 3, 64);
  console.log(`     repeat ${structure} bf16 autocast: graph vs eager first-sequence agreement ${bf16.prefix}/64 tokens, ${bf16.same}/${bf16.total} overall`);
  // New weights: the graph must be captured again.
  const trainer = new Trainer(model, { learningRate: 1e-2 });
  await trainer.step({ tokens: randomTokens(4 * 64), batch: 4 });
  const after = await compare(model, 'fp32', 3, 32);
  check(`repeat ${structure} fp32 after a training step`, after.same === after.total, `${after.same}/${after.total}`);
  trainer.dispose();
  model.dispose();
}

// Speed at the SPEC §7 size: d1024 L8, batch 1.
const big = await LanguageModel.create({ kind: 'repeat', structure: 'column', vocabSize: 8000, dModel: 1024, nLayers: 8, nHeads: 4, context: 4096, seed: 1, device: 'cuda' });
for (const precision of ['auto', 'fp32']) {
  const decoder = new Decoder(big, { batch: 1, precision });
  await decoder.prefill(randomTokens(1024));
  await decoder.greedy([5], 8); // capture
  const count = 1000;
  let t0 = performance.now();
  const r = await decoder.greedy([5], count);
  const graphedMs = (performance.now() - t0) / count;
  const eagerDecoder = new Decoder(big, { batch: 1, precision });
  await eagerDecoder.prefill(randomTokens(1024));
  for (let i = 0; i < 5; i++) (await eagerDecoder.step([3])).logits.dispose();
  t0 = performance.now();
  for (let i = 0; i < 100; i++) (await eagerDecoder.step([3])).logits.dispose();
  const eagerMs = (performance.now() - t0) / 100;
  console.log(`     d1024 L8 column repeat, batch 1, ${precision}: greedy ${r.graphed ? 'CUDA graph' : 'eager'} ${(graphedMs * 1000).toFixed(1)} µs/token; awaited eager step ${(eagerMs * 1000).toFixed(0)} µs/token (${(eagerMs / graphedMs).toFixed(1)}×)`);
  decoder.dispose();
  eagerDecoder.dispose();
}
big.dispose();
process.exit(failed ? 1 : 0);
