#!/usr/bin/env node
// GPU checks for issue 9 (cheap decoding), run on a GPU machine after the addon is built; results on stdout:
//  1. every decoder (repeat structures, masked mixer cached and full-prefix, llama KV cache) against the full
//     forward on the GPU in fp32: max error relative to the largest logit, token by token and in chunks;
//     and the same under bf16 autocast (precision 'auto'), for information;
//  2. greedy generation through the cache equals the full-prefix path;
//  3. `maskmix bench --decode` on the GPU (JSON into $OUT/decode-bench.json when OUT is set; DECODE_BENCH=0 skips).
// Usage: node scripts/gpu/check-decoding.mjs [device]   (default cuda; 'cpu' runs the same checks here).
// Written for the GPU measurements of issue 9 and run on the CPU so far, not yet on a GPU.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Decoder, LanguageModel, REPEAT_STRUCTURES, Tensor, generate } from '../../dist/lib/index.js';
import { formatDecodeTables, runDecodeBench, DECODE_BENCH_DEFAULTS } from '../../dist/lib/bench/decode-bench.js';

const device = process.argv[2] ?? 'cuda';
const V = 500;
const n = 96;
let seed = 5;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const tokens = Int32Array.from({ length: 2 * n }, () => 1 + Math.floor(random() * (V - 1)));

function relative(a, b) {
  let err = 0, scale = 0;
  for (let i = 0; i < a.length; i++) { err = Math.max(err, Math.abs(a[i] - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
  return err / scale;
}

async function decodeAll(model, precision, pieces) {
  const decoder = new Decoder(model, { batch: 2, precision });
  const out = new Float32Array(2 * n * V);
  let at = 0;
  for (const m of pieces) {
    const chunk = new Int32Array(2 * m);
    for (let b = 0; b < 2; b++) chunk.set(tokens.subarray(b * n + at, b * n + at + m), b * m);
    const r = m === 1 ? await decoder.step(chunk) : await decoder.prefill(chunk, { logits: 'all' });
    const logits = r.logits.toTypedArray();
    for (let b = 0; b < 2; b++) for (let i = 0; i < m; i++) out.set(logits.subarray((b * m + i) * V, (b * m + i + 1) * V), (b * n + at + i) * V);
    at += m;
  }
  decoder.dispose();
  return out;
}

const base = { vocabSize: V, dModel: 128, nLayers: 2, context: n, seed: 1, device };
const configs = [
  ...REPEAT_STRUCTURES.map((structure) => [`repeat ${structure}`, { kind: 'repeat', ...base, structure }]),
  ['mixer', { kind: 'mixer', ...base }],
  ['mixer (module blocks)', { kind: 'mixer', ...base, fused: false }],
  ['llama', { kind: 'llama', ...base, nHeads: 2 }],
  ['llama (module ops)', { kind: 'llama', ...base, nHeads: 2, fused: false }],
];
const pieces = [[...Array(n).fill(1)], [40, 1, 1, 1, 30, 1, 22]];
for (const [name, config] of configs) {
  const model = await LanguageModel.create(config);
  if (config.kind === 'repeat') {
    // Decays inside (0.9, 1) and non-zero biases, so the decay and bias paths are exercised.
    const state = model.stateDict();
    const updates = {};
    for (const [k, t] of Object.entries(state)) {
      if (!k.endsWith('mix.decay') && !k.endsWith('mix.bias')) continue;
      const v = Float32Array.from(t.toTypedArray(), () => (k.endsWith('decay') ? 0.905 + 0.09 * random() : 0.6 * random() - 0.3));
      updates[k] = Tensor.from(v, t.shape).to({ device });
    }
    model.loadStateDict({ ...state, ...updates });
  }
  const full = (await model.forward(tokens, 2)).toTypedArray();
  const errs = [];
  for (const p of pieces) errs.push(relative(await decodeAll(model, 'fp32', p), full));
  const bf16 = relative(await decodeAll(model, 'auto', pieces[1]), full);
  const prompt = Array.from(tokens.subarray(0, 10));
  const a = await generate(model, prompt, { maxNewTokens: n, temperature: 0 });
  const b = await generate(model, prompt, { maxNewTokens: n, temperature: 0, decoder: 'full-prefix', precision: 'fp32' });
  const c = await generate(model, prompt, { maxNewTokens: n, temperature: 0, precision: 'fp32' });
  const same = c.every((t, i) => t === b[i]);
  console.log(`[1] ${name.padEnd(24)} fp32 token-by-token ${errs[0].toExponential(2)}  chunked ${errs[1].toExponential(2)}  ${errs.every((e) => e <= 1e-4) ? 'OK' : 'FAIL'}  | bf16 autocast ${bf16.toExponential(2)}`);
  console.log(`[2] ${name.padEnd(24)} greedy ${n} tokens, cached vs full prefix (fp32): ${same ? 'identical' : 'DIFFER'}; bf16 cached agrees on ${a.filter((t, i) => t === b[i]).length}/${n}`);
  model.dispose();
}

if (process.env.DECODE_BENCH === '0') process.exit(0);
const options = { ...DECODE_BENCH_DEFAULTS, device, budgetSeconds: Number(process.env.DECODE_BUDGET ?? 60), log: (l) => process.stderr.write(l + '\n') };
const series = await runDecodeBench(options);
console.log(`[3] maskmix bench --decode on ${device}\n${formatDecodeTables(series)}`);
if (process.env.OUT) writeFileSync(join(process.env.OUT, 'decode-bench.json'), JSON.stringify({ options: { ...options, log: undefined }, series }, null, 2));
