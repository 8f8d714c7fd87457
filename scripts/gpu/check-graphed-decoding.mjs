#!/usr/bin/env node
// GPU checks of graphed greedy decoding (native/decode/graphed_greedy_step.h), run on a GPU machine after the
// addon is built: for every repeat structure that steps on the device, Decoder.greedy (one CUDA graph replay per
// token) must pick exactly the tokens of a step()+argmax loop in fp32, and in bf16 ('auto') agree on nearly all;
// after a training step changes the weights the graph is captured again and still agrees. Then the speed of
// d1024 L8 batch-1 greedy decoding: ms per token, graphed, against the eager step loop. Column, row and mixed
// structures at batch ≤ 4 run maskmix's fused decoding kernels inside the graph
// (decode/fused_repeat_step.h); the kernels' launch shapes (rows per warp, load chunks) depend on the matrix, so the
// fp32 checks also run widths and vocabularies that reach each shape;
// each is also compared with the generic graph of libtorch modules. The fused kernels are on by default
// (MASKMIX_FUSED_DECODE=0 turns them off); this script is their check on a GPU, with the opt-in persistent kernel
// (MASKMIX_DECODE_PERSISTENT=1) checked and timed beside them. Decoders with weights 'int8' (int8-checks) must
// give the step loop's fp32 tokens of a model whose matrices were replaced by their dequantised int8 copies.
// Usage: node scripts/gpu/check-graphed-decoding.mjs [--part P,…]   (prints one line per check; exit 1 on a failure)
//   parts, in this order (default all): repeat-checks, linear-checks, shapes, int8-checks, gemv-checks,
//   tensor-core-checks, repeat-speed, linear-speed — a short device lease can run the ones it needs first.
// gemv-checks runs single GEMV kernels (native().probeDecodeGemv) against float64 arithmetic for every weight format
// and launch shape; tensor-core-checks runs whole steps with MASKMIX_DECODE_TENSOR_CORES=1.
import { Decoder, LanguageModel, LINEAR_PATTERNS, REPEAT_STRUCTURES, Trainer } from '../../dist/lib/index.js';
import { Tensor } from '../../dist/lib/tensor.js';
import { native } from '../../dist/lib/native.js';
import { SPEC_DECODE_MODEL } from './decode-model.mjs';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check, exitWithChecks } from './check-report.mjs';
import { withEnvs } from './with-env.mjs';

const PARTS = ['repeat-checks', 'linear-checks', 'shapes', 'int8-checks', 'gemv-checks', 'tensor-core-checks', 'repeat-speed', 'linear-speed'];
const partArg = process.argv.indexOf('--part');
const parts = new Set(partArg > 0 ? (process.argv[partArg + 1] ?? '').split(',') : PARTS);
for (const p of parts) if (!PARTS.includes(p)) throw new Error(`unknown --part ${p}: one of ${PARTS.join(', ')}`);

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
    const vocab = logits.length / batch; // the model's, which may differ from V
    next = next.map((_, b) => {
      let best = 0;
      for (let v = 1; v < vocab; v++) if (logits[b * vocab + v] > logits[b * vocab + best]) best = v;
      return best;
    });
    next.forEach((t, b) => out[b].push(t));
  }
  return out.flat();
}

process.env.MASKMIX_FUSED_DECODE = '1';
// Greedy tokens with the fused kernels off (the generic captured graph) or on.
async function greedyWith(decoder, first, count, fusedOff) {
  if (fusedOff) process.env.MASKMIX_FUSED_DECODE = '0';
  try {
    return await decoder.greedy(first, count);
  } finally {
    process.env.MASKMIX_FUSED_DECODE = '1';
  }
}

const withEnv = (name, value, fn) => withEnvs({ [name]: value }, fn);

// against: 'eager' (a step loop on the same model), 'generic' (the generic graph), or another model (its step loop:
// the int8 checks' dequantised copy). weights: the graphed decoder's option.
async function compare(model, precision, batch, count, against = 'eager', weights = 'model') {
  const prompt = randomTokens(batch * 16);
  const a = new Decoder(model, { batch, precision, weights });
  const b = new Decoder(typeof against === 'string' ? model : against, { batch, precision });
  await a.prefill(prompt);
  await b.prefill(prompt);
  const first = randomTokens(batch);
  // Two greedy calls (13 tokens, then the rest from the 13th): what the device keeps between runs (the decode
  // kernels' counters, the host-set position) must carry over.
  const split = Math.min(13, count - 1);
  const head = await a.greedy(first, split);
  const tail = await a.greedy(Array.from({ length: batch }, (_, b) => head.tokens[b * split + split - 1]), count - split);
  const graphedRun = {
    graphed: head.graphed && tail.graphed,
    fused: head.fused && tail.fused,
    int8Weights: head.int8Weights && tail.int8Weights,
    tokens: Int32Array.from({ length: batch * count }, (_, i) => {
      const b = Math.floor(i / count), t = i % count;
      return t < split ? head.tokens[b * split + t] : tail.tokens[b * (count - split) + t - split];
    }),
  };
  const eager = against === 'generic' ? Array.from((await greedyWith(b, first, count, true)).tokens) : await stepLoop(b, first, count);
  let same = 0;
  for (let i = 0; i < eager.length; i++) if (graphedRun.tokens[i] === eager[i]) same++;
  // The first disagreement ends the comparison of a sequence (everything after it follows other tokens).
  let prefix = 0;
  while (prefix < count && graphedRun.tokens[prefix] === eager[prefix]) prefix++;
  a.dispose();
  b.dispose();
  return { graphed: graphedRun.graphed, fused: graphedRun.fused, int8Weights: graphedRun.int8Weights, same, total: eager.length, prefix };
}

// A timeline file (MASKMIX_DECODE_TIMELINE), read and removed: its rows as numbers (columns as in its header line)
// and how many kernels a step launched.
function readTimeline(file) {
  const rows = readFileSync(file, 'utf8').trim().split('\n').slice(1).map((line) => line.split(' ').map(Number));
  rmSync(file, { force: true });
  return { rows, launches: 1 + Math.max(...rows.map((row) => row[1])) };
}

// The split-output step (MASKMIX_DECODE_SPLIT_OUTPUT=1: two kernels a layer, kernels.h RepeatDecodeGemv::splitWeight)
// against the step loop, three ways: as it runs by default (each block adds its products with one-float atomics),
// with 16-byte atomics (MASKMIX_DECODE_SPLIT_ATOMICS=vector, sm_90), and with the timeline hooks on, whose file shows
// how many kernels a step launched (2·layers + 1 when the split kernels ran, 4·layers + 1 when the step fell back
// to the default launches). Its float atomics add in a varying order, so fp32 tokens may differ from the step
// loop's where two logits tie to rounding; the checks ask for all of them.
async function compareSplit(model, batch, count) {
  const plain = await withEnv('MASKMIX_DECODE_SPLIT_OUTPUT', '1', () => compare(model, 'fp32', batch, count));
  const vector = await withEnvs({ MASKMIX_DECODE_SPLIT_OUTPUT: '1', MASKMIX_DECODE_SPLIT_ATOMICS: 'vector' }, () => compare(model, 'fp32', batch, count));
  const file = join(tmpdir(), `split-timeline-${process.pid}.txt`);
  const env = { MASKMIX_DECODE_SPLIT_OUTPUT: '1', MASKMIX_DECODE_TIMELINE: file };
  const timed = await withEnvs(env, () => compare(model, 'fp32', batch, count));
  const { launches } = readTimeline(file);
  const all = [plain, vector, timed];
  return {
    ok: all.every((r) => r.fused && r.same === r.total),
    launches,
    detail: `${plain.same}/${plain.total}, 16-byte atomics ${vector.same}/${vector.total}, with timeline ${timed.same}/${timed.total}, ${launches} kernels a step`,
  };
}

// bf16 greedy tokens of the default fused step and of a variant (environment settings) from the same prompt.
async function variantTokens(model, batch, count, env) {
  const prompt = randomTokens(batch * 16);
  const first = randomTokens(batch);
  const run = async () => {
    const d = new Decoder(model, { batch, precision: 'auto' });
    await d.prefill(prompt);
    const r = await d.greedy(first, count);
    d.dispose();
    return r.tokens;
  };
  const plain = await run();
  const variant = await withEnvs(env, run);
  return { same: plain.filter((t, i) => t === variant[i]).length, total: plain.length };
}

if (parts.has('repeat-checks')) {
  for (const structure of REPEAT_STRUCTURES) {
    const model = await LanguageModel.create({ kind: 'repeat', structure, vocabSize: V, dModel: 128, nLayers: 2, nHeads: 4, context: 256, seed: 4, device: 'cuda' });
    const fp32 = await compare(model, 'fp32', 3, 61);
    const expectGraph = structure !== 'toeplitz';
    const expectFused = ['column', 'row', 'mixed'].includes(structure);
    const how = fp32.fused ? '(graph, fused kernels)' : fp32.graphed ? '(graph)' : '(eager)';
    check(`repeat ${structure} fp32: greedy ${how} = step loop`, fp32.graphed === expectGraph && fp32.fused === expectFused && fp32.same === fp32.total, `${fp32.same}/${fp32.total}`);
    if (expectFused) {
      const generic = await compare(model, 'fp32', 3, 64, 'generic');
      check(`repeat ${structure} fp32: fused kernels = generic graph`, generic.same === generic.total, `${generic.same}/${generic.total}`);
      const one = await compare(model, 'fp32', 1, 64);
      check(`repeat ${structure} fp32 batch 1: fused = step loop`, one.fused && one.same === one.total, `${one.same}/${one.total}`);
      // The opt-in variants: flag hand-over, eight steps a replay, both; and launches not overlapped.
      for (const [name, env] of [
        ['flag hand-over', { MASKMIX_DECODE_HANDOVER: 'flags' }],
        ['eight steps a replay', { MASKMIX_DECODE_STEPS_PER_GRAPH: '8' }],
        ['flag hand-over, eight steps a replay', { MASKMIX_DECODE_HANDOVER: 'flags', MASKMIX_DECODE_STEPS_PER_GRAPH: '8' }],
        ['launches not overlapped, flag hand-over', { MASKMIX_DECODE_PDL: '0', MASKMIX_DECODE_HANDOVER: 'flags' }],
      ]) {
        const v = await withEnvs(env, () => compare(model, 'fp32', 3, 64));
        check(`repeat ${structure} fp32 batch 3: ${name} = step loop`, v.fused && v.same === v.total, `${v.same}/${v.total}`);
      }
      for (const batch of [1, 3]) {
        const p = await withEnv('MASKMIX_DECODE_PERSISTENT', '1', () => compare(model, 'fp32', batch, 64));
        check(`repeat ${structure} fp32 batch ${batch}: persistent kernel = step loop`, p.fused && p.same === p.total, `${p.same}/${p.total}`);
        const s = await compareSplit(model, batch, 64);
        check(`repeat ${structure} fp32 batch ${batch}: split output = step loop`, s.ok && s.launches === 2 * 2 + 1, s.detail);
      }
    }
    const bf16 = await compare(model, 'auto', 3, 64);
    console.log(`     repeat ${structure} bf16 autocast: graph vs eager first-sequence agreement ${bf16.prefix}/64 tokens, ${bf16.same}/${bf16.total} overall`);
    // New weights: the graph must be captured again.
    const trainer = new Trainer(model, { learningRate: 1e-2 });
    await trainer.step({ tokens: randomTokens(4 * 64), batch: 4 });
    const after = await compare(model, 'fp32', 3, 32);
    check(`repeat ${structure} fp32 after a training step`, after.same === after.total, `${after.same}/${after.total}`);
    trainer.dispose();
    // A decoder held across graphed training steps: the replays (steps 2 and 3) rewrite the weights without an op the
    // version counters see, so the trainer bumps them; else the held decoder replays its old graph and weight copies.
    const held = new Decoder(model, { batch: 1, precision: 'fp32' });
    const prompt = randomTokens(16), first = randomTokens(1);
    await held.prefill(prompt);
    await held.greedy(first, 8);
    const graphed = new Trainer(model, { learningRate: 1e-2, cudaGraph: true });
    for (let i = 0; i < 3; i++) await graphed.step({ tokens: randomTokens(4 * 64), batch: 4 });
    held.reset();
    await held.prefill(prompt);
    const heldTokens = Array.from((await held.greedy(first, 16)).tokens);
    const fresh = new Decoder(model, { batch: 1, precision: 'fp32' });
    await fresh.prefill(prompt);
    const loopTokens = await stepLoop(fresh, first, 16);
    const agree = heldTokens.filter((t, i) => t === loopTokens[i]).length;
    check(`repeat ${structure} fp32 held decoder after graphed training steps = step loop`, agree === 16, `${agree}/16`);
    held.dispose();
    fresh.dispose();
    graphed.dispose();
    model.dispose();
  }
}

// Linear mixers (kind 'linear'): every pattern steps at a device-held position, so greedy replays the generic graph
// with the caches in their fixed form; its fp32 tokens must be the step loop's, both coefficient kinds.
if (parts.has('linear-checks')) {
  for (const pattern of LINEAR_PATTERNS) {
    for (const coefficients of ['static', 'gated']) {
      const model = await LanguageModel.create({ kind: 'linear', pattern, coefficients, order: 3, window: 5, vocabSize: V, dModel: 128, nLayers: 2, nHeads: 4, context: 256, seed: 4, device: 'cuda' });
      const r = await compare(model, 'fp32', 3, 61);
      check(`linear ${pattern} ${coefficients} fp32: greedy ${r.graphed ? '(graph)' : '(eager)'} = step loop`, r.graphed && r.same === r.total, `${r.same}/${r.total}`);
      // greedy, a host-side step, greedy again on one decoder: the second greedy replays the same graph over the
      // fixed form it left (its buffers must have kept their addresses), past the rings' wrap for the short reaches.
      const prompt = randomTokens(3 * 16);
      const a = new Decoder(model, { batch: 3, precision: 'fp32' });
      const b = new Decoder(model, { batch: 3, precision: 'fp32' });
      await a.prefill(prompt);
      await b.prefill(prompt);
      const got = [...(await a.greedy([1, 2, 3], 40)).tokens];
      (await a.step([4, 5, 6])).logits.dispose();
      got.push(...(await a.greedy([7, 8, 9], 40)).tokens);
      const want = await stepLoop(b, [1, 2, 3], 40);
      (await b.step([4, 5, 6])).logits.dispose();
      want.push(...(await stepLoop(b, [7, 8, 9], 40)));
      const same = got.filter((t, i) => t === want[i]).length;
      check(`linear ${pattern} ${coefficients} fp32: greedy, step, greedy = step loop`, same === want.length, `${same}/${want.length}`);
      a.dispose();
      b.dispose();
      const bf16 = await compare(model, 'auto', 3, 61);
      console.log(`     linear ${pattern} ${coefficients} bf16 autocast: graph vs step loop first-sequence agreement ${bf16.prefix}/61 tokens, ${bf16.same}/${bf16.total} overall`);
      model.dispose();
    }
  }
}

// Every launch shape of the fused GEMV (kernels/repeat_decode.cu picks it per matrix): d128 above takes one row per
// warp and one load chunk; a 4000-row fp32 head of width 512 four rows per warp, the d512 up-projection (2048 rows)
// two; d1024 fp32's down-projection (4096 inputs) several chunks. Each must give the step loop's fp32 tokens.
if (parts.has('shapes')) {
  // d1024 batch 3 before batch 4: its down-projection asks exactly 48 KiB of dynamic shared memory, which needs the
  // opt-in that a batch-4 launch of the same kernel would otherwise have made first (session 21's launch bug).
  for (const [dModel, batch] of [[512, 1], [512, 2], [1024, 1], [1024, 2], [1024, 3], [1024, 4]]) {
    const model = await LanguageModel.create({ kind: 'repeat', structure: 'mixed', vocabSize: 4000, dModel, nLayers: 2, nHeads: 4, context: 256, seed: 5, device: 'cuda' });
    const r = await compare(model, 'fp32', batch, 45);
    check(`launch shapes d${dModel} V4000 fp32 batch ${batch}: fused = step loop`, r.fused && r.same === r.total, `${r.same}/${r.total}`);
    const p = await withEnv('MASKMIX_DECODE_PERSISTENT', '1', () => compare(model, 'fp32', batch, 48));
    check(`launch shapes d${dModel} V4000 fp32 batch ${batch}: persistent kernel = step loop`, p.fused && p.same === p.total, `${p.same}/${p.total}`);
    // d512's fp32 up-projection takes two rows a warp, a shape with no split kernel: that step keeps four kernels a layer.
    const s = await compareSplit(model, batch, 45);
    check(`launch shapes d${dModel} V4000 fp32 batch ${batch}: split output = step loop`, s.ok && s.launches === (dModel === 512 ? 4 : 2) * model.config.nLayers + 1, s.detail);
    // bf16 weights take other shapes (four rows a warp for the up-projection): split output against the default
    // fused step on the same prompt, which differ only in the order of their sums.
    const a = await variantTokens(model, batch, 45, { MASKMIX_DECODE_SPLIT_OUTPUT: '1' });
    check(`launch shapes d${dModel} V4000 bf16 batch ${batch}: split output = default fused step on ≥ 90% of tokens`, a.same >= 0.9 * a.total, `${a.same}/${a.total}`);
    model.dispose();
  }
}

// int8 weights: the fused kernels multiply each row's sum of q·x by the row's scale; a model whose matrices hold
// q·scale in float32 must give the same fp32 greedy tokens through its step loop. Every structure the kernels take,
// and the launch shapes above (int8 rows are 16 values a load, so d1024's down-projection is one chunk).
const QUANTIZED = /(in_proj|out_proj|ff\.0|ff\.2|lm_head)\.weight$/;  // the matrices the fused kernels read
async function dequantisedCopy(model) {
  const copy = await LanguageModel.create({ ...model.config });
  const tensors = {};
  for (const [name, t] of Object.entries(model.stateDict())) {
    if (!QUANTIZED.test(name)) {
      tensors[name] = t;
      continue;
    }
    const q = native().quantizeRows(t.handle);
    const values = new Tensor(q.values).toTypedArray(), scales = new Tensor(q.scales).toTypedArray();
    const cols = t.shape[1];
    tensors[name] = Tensor.from(Float32Array.from(values, (v, i) => v * scales[Math.floor(i / cols)]), t.shape);
  }
  const names = Object.keys(tensors).filter((n) => QUANTIZED.test(n));
  copy.loadStateDict(tensors);
  return { copy, names };
}
if (parts.has('int8-checks')) {
  // Its own prompts, whichever parts ran before: the int8 step and the dequantised model round differently (Σq·x then
  // the scale, against Σ(q·scale)·x), so a near-tie in a random model's logits can part their tokens. These prompts
  // gave equal tokens in every run so far; run after repeat-checks and shapes with the shared sequence, two of the
  // eleven parted (docs/benchmarks/h100-2026-12-06g). The int8 arithmetic itself is held to float64 in gemv-checks.
  seed = 11;
  for (const [structure, dModel, vocabSize, batches] of [
    ['mixed', 128, V, [1, 3]], ['column', 128, V, [1, 3]], ['row', 128, V, [1, 3]],
    ['mixed', 512, 4000, [1, 2]], ['mixed', 1024, 4000, [1, 2, 4]],
  ]) {
    const model = await LanguageModel.create({ kind: 'repeat', structure, vocabSize, dModel, nLayers: 2, nHeads: 4, context: 256, seed: 6, device: 'cuda' });
    const { copy, names } = await dequantisedCopy(model);
    for (const batch of batches) {
      const r = await compare(model, 'fp32', batch, 48, copy, 'int8');
      check(`int8 ${structure} d${dModel} V${vocabSize} batch ${batch}: fused int8 = step loop of the dequantised model (${names.length} matrices)`,
        r.fused && r.int8Weights && names.length === 9 && r.same === r.total, `${r.same}/${r.total}`);
    }
    copy.dispose();
    model.dispose();
  }
  // The SPEC §7 model (random weights): how often int8 picks bf16's greedy tokens.
  const big = await LanguageModel.create({ kind: 'repeat', structure: 'mixed', ...SPEC_DECODE_MODEL });
  const bf16 = new Decoder(big, { batch: 1, precision: 'auto' }), int8 = new Decoder(big, { batch: 1, precision: 'auto', weights: 'int8' });
  const prompt = randomTokens(256);
  await bf16.prefill(prompt);
  await int8.prefill(prompt);
  const x = (await bf16.greedy([5], 256)).tokens, y = (await int8.greedy([5], 256)).tokens;
  let prefix = 0;
  while (prefix < 256 && x[prefix] === y[prefix]) prefix++;
  console.log(`     d1024 L8 mixed (random weights) batch 1: int8 and bf16 greedy tokens agree on the first ${prefix}/256`);
  bf16.dispose();
  int8.dispose();
  big.dispose();
}

// One GEMV kernel against float64 arithmetic on the values the kernel multiplies: the weights as its format holds
// them (bf16-rounded, or int8 values times their row's scale), and for tensor cores the input rounded to bf16 too.
// Every launch shape (rows per warp 1, 2, 4; one or several load chunks; a last block past the matrix's end), batch
// 1-4, with and without the LayerNorm prologue (then GELU(W·LayerNorm(x)), unit LayerNorm weight, zero bias).
const toBf16 = (() => {
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  return (v) => {
    f[0] = v;
    u[0] = (u[0] + 0x7fff + ((u[0] >>> 16) & 1)) & 0xffff0000; // round to nearest even (no NaNs here)
    return f[0];
  };
})();
function erf(x) { // Abramowitz & Stegun 7.1.26, |error| ≤ 1.5e-7
  const s = Math.sign(x), a = Math.abs(x), t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}
if (parts.has('gemv-checks')) {
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  for (const [rows, K] of [[1024, 1024], [2048, 1024], [4096, 1024], [4100, 1024], [1024, 4096], [512, 2048], [300, 256]]) {
    const w = Float32Array.from({ length: rows * K }, () => gauss() / Math.sqrt(K));
    const wt = Tensor.from(w, [rows, K]).to({ device: 'cuda' });
    for (const batch of [1, 2, 3, 4]) {
      const x = Float32Array.from({ length: batch * K }, () => 0.5 + gauss());
      const xt = Tensor.from(x, [batch, K]).to({ device: 'cuda' });
      for (const layerNorm of [false, true]) {
        if (layerNorm && K > 1024) continue; // the model's LayerNorm GEMVs read d-wide inputs
        // The input the products take: LayerNorm'ed in float64 where the kernel normalises.
        const input = new Float64Array(batch * K);
        for (let b = 0; b < batch; b++) {
          const row = x.subarray(b * K, (b + 1) * K);
          if (!layerNorm) {
            input.set(row, b * K);
            continue;
          }
          const mean = row.reduce((s, v) => s + v, 0) / K;
          const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / K;
          for (let k = 0; k < K; k++) input[b * K + k] = (row[k] - mean) / Math.sqrt(variance + 1e-5);
        }
        for (const weights of ['float32', 'bfloat16', 'tensor-cores', 'int8']) {
          if (weights === 'tensor-cores' && K % 256 !== 0) continue;
          let values = w, inputs = input;
          if (weights === 'bfloat16' || weights === 'tensor-cores') values = Float32Array.from(w, toBf16);
          if (weights === 'int8') {
            const q = native().quantizeRows(wt.handle);
            const qv = new Tensor(q.values), qs = new Tensor(q.scales);
            const v = qv.toTypedArray(), sc = qs.toTypedArray();
            values = Float32Array.from(v, (q, i) => q * sc[Math.floor(i / K)]);
            qv.dispose();
            qs.dispose();
          }
          if (weights === 'tensor-cores') inputs = Float64Array.from(input, toBf16);
          const outT = new Tensor(native().probeDecodeGemv(wt.handle, xt.handle, weights, layerNorm));
          const out = outT.toTypedArray();
          outT.dispose();
          // Error relative to the row's Σ|w·x| (what float32 sums in another order can move).
          let worst = 0;
          for (let b = 0; b < batch; b++)
            for (let r = 0; r < rows; r++) {
              let dot = 0, magnitude = 0;
              for (let k = 0; k < K; k++) {
                const term = values[r * K + k] * inputs[b * K + k];
                dot += term;
                magnitude += Math.abs(term);
              }
              const expected = layerNorm ? 0.5 * dot * (1 + erf(dot / Math.SQRT2)) : dot;
              worst = Math.max(worst, Math.abs(out[b * rows + r] - expected) / (magnitude + 1e-6));
            }
          // Tensor cores after a LayerNorm: the kernel rounds its float32 normalised input to bf16 where this rounds the
          // float64 one, so a value at a rounding boundary can land one bf16 step (2⁻⁸ relative) apart — seen as 2e-5 and
          // 8e-5 of Σ|w·x| on an H200 (session 21). A wrong operand layout is off by the order of Σ|w·x| itself.
          const bound = weights === 'tensor-cores' && layerNorm ? 1e-3 : 1e-5;
          check(`gemv ${rows}x${K} batch ${batch}${layerNorm ? ' LayerNorm→GELU' : ''} ${weights}: = float64 arithmetic`, worst < bound, `worst error ${worst.toExponential(2)} of Σ|w·x| (bound ${bound})`);
        }
      }
      xt.dispose();
    }
    wt.dispose();
  }
}

// Whole steps with tensor-core products (MASKMIX_DECODE_TENSOR_CORES=1): greedy reports them, and its tokens against
// the bf16 kernels' (FMA products, float32 input): the products differ by the input's rounding to bf16, so on random
// models tokens part after a while; printed, with the share of the first sequence that agrees.
if (parts.has('tensor-core-checks')) {
  for (const [structure, dModel, batches] of [['mixed', 256, [1, 3]], ['column', 512, [1, 2]], ['row', 512, [1]], ['mixed', 1024, [1, 2, 4]]]) {
    const model = await LanguageModel.create({ kind: 'repeat', structure, vocabSize: 4000, dModel, nLayers: 2, nHeads: 4, context: 256, seed: 7, device: 'cuda' });
    for (const batch of batches) {
      const prompt = randomTokens(batch * 16), first = randomTokens(batch);
      const run = async (tensorCores) =>
        withEnv('MASKMIX_DECODE_TENSOR_CORES', tensorCores ? '1' : '0', async () => {
          const decoder = new Decoder(model, { batch, precision: 'auto' });
          await decoder.prefill(prompt);
          const r = await decoder.greedy(first, 48);
          decoder.dispose();
          return r;
        });
      const mma = await run(true), fma = await run(false);
      let prefix = 0, same = 0;
      while (prefix < 48 && mma.tokens[prefix] === fma.tokens[prefix]) prefix++;
      for (let i = 0; i < mma.tokens.length; i++) if (mma.tokens[i] === fma.tokens[i]) same++;
      check(`tensor cores ${structure} d${dModel} batch ${batch}: greedy ran them (and the default did not)`, mma.fused && mma.tensorCores && fma.fused && !fma.tensorCores);
      console.log(`     tensor cores ${structure} d${dModel} batch ${batch}: tokens as the bf16 kernels' for the first ${prefix}/48, ${same}/${mma.tokens.length} overall`);
    }
    model.dispose();
  }
  // Widths that are not whole 256-value tiles keep the bf16 kernels.
  const small = await LanguageModel.create({ kind: 'repeat', structure: 'mixed', vocabSize: V, dModel: 128, nLayers: 2, nHeads: 4, context: 256, seed: 7, device: 'cuda' });
  const r = await withEnv('MASKMIX_DECODE_TENSOR_CORES', '1', async () => {
    const decoder = new Decoder(small, { batch: 1, precision: 'auto' });
    const out = await decoder.greedy([3], 4);
    decoder.dispose();
    return out;
  });
  check('tensor cores asked at d128: the bf16 kernels run instead', r.fused && !r.tensorCores);
  small.dispose();
}

// Speed at the SPEC §7 size: d1024 L8, batch 1 (and 2), fused kernels vs the generic graph vs awaited eager steps.
if (parts.has('repeat-speed')) {
  for (const structure of ['mixed', 'column']) {
    const big = await LanguageModel.create({ kind: 'repeat', structure, ...SPEC_DECODE_MODEL });
    for (const [precision, batch] of [['auto', 1], ['fp32', 1], ['auto', 2], ['auto', 4]]) {
      // One timed greedy run of 2000 tokens with these environment settings (read at capture): fusedOff is the
      // generic graph.
      const timeGreedy = async (env = {}, fusedOff = false) => {
        for (const [k, v] of Object.entries(env)) process.env[k] = v;
        try {
          const decoder = new Decoder(big, { batch, precision });
          await decoder.prefill(randomTokens(1024 * batch));
          const first = Array.from({ length: batch }, () => 5);
          const warm = await greedyWith(decoder, first, 8, fusedOff); // captures
          const count = 2000;
          const t0 = performance.now();
          const r = await decoder.greedy(first, count);
          const ms = (performance.now() - t0) / count;
          decoder.dispose();
          return { ms, graphed: r.graphed && warm.graphed, fused: r.fused };
        } finally {
          for (const k of Object.keys(env)) delete process.env[k];
        }
      };
      const fused = await timeGreedy();
      // The default (grid hand-over, one step a replay) against the opt-in variants and older ones.
      const flags = await timeGreedy({ MASKMIX_DECODE_HANDOVER: 'flags' });
      const chained = await timeGreedy({ MASKMIX_DECODE_STEPS_PER_GRAPH: '8' });
      const both = await timeGreedy({ MASKMIX_DECODE_HANDOVER: 'flags', MASKMIX_DECODE_STEPS_PER_GRAPH: '8' });
      const persistent = await timeGreedy({ MASKMIX_DECODE_PERSISTENT: '1' });
      const serial = await timeGreedy({ MASKMIX_DECODE_PDL: '0' });
      const generic = await timeGreedy({}, true);
      const eagerDecoder = new Decoder(big, { batch, precision });
      await eagerDecoder.prefill(randomTokens(1024 * batch));
      const feed = Array.from({ length: batch }, () => 3);
      for (let i = 0; i < 5; i++) (await eagerDecoder.step(feed)).logits.dispose();
      let t0 = performance.now();
      for (let i = 0; i < 100; i++) (await eagerDecoder.step(feed)).logits.dispose();
      const eagerMs = (performance.now() - t0) / 100;
      eagerDecoder.dispose();
      const us = (ms) => `${(ms * 1000).toFixed(1)} µs`;
      console.log(`     d1024 L8 ${structure} repeat, batch ${batch}, ${precision}: fused graph ${fused.fused ? '' : '(NOT fused) '}${us(fused.ms)}/token ` +
        `(flag hand-over ${us(flags.ms)}; eight steps a replay ${us(chained.ms)}; both ${us(both.ms)}; launches not overlapped ${us(serial.ms)}; ` +
        `one persistent kernel ${us(persistent.ms)}); generic graph ${us(generic.ms)} (${(generic.ms / fused.ms).toFixed(2)}×); ` +
        `awaited eager step ${us(eagerMs)} (${(eagerMs / fused.ms).toFixed(1)}×)`);
    }
    big.dispose();
  }
}

// Linear mixers at the decode bench's size (d1024 L8, batch 1, precision auto): graphed greedy vs awaited steps.
if (parts.has('linear-speed')) {
  for (const pattern of ['first-order', 'kth-order', 'pow2', 'pow2-lattice', 'square-lattice', 'attention']) {
    const big = await LanguageModel.create({ kind: 'linear', pattern, order: 4, ...SPEC_DECODE_MODEL });
    const decoder = new Decoder(big, { batch: 1, precision: 'auto' });
    await decoder.prefill(randomTokens(1024));
    await decoder.greedy([5], 8); // captures
    const count = 1000;
    let t0 = performance.now();
    const r = await decoder.greedy([5], count);
    const graphMs = (performance.now() - t0) / count;
    for (let i = 0; i < 5; i++) (await decoder.step([3])).logits.dispose();
    t0 = performance.now();
    for (let i = 0; i < 50; i++) (await decoder.step([3])).logits.dispose();
    const eagerMs = (performance.now() - t0) / 50;
    console.log(`     d1024 L8 linear ${pattern}, batch 1, auto: greedy ${r.graphed ? 'graph' : '(NOT graphed)'} ${(graphMs * 1000).toFixed(1)} µs/token; awaited eager step ${(eagerMs * 1000).toFixed(1)} µs (${(eagerMs / graphMs).toFixed(1)}×)`);
    decoder.dispose();
    big.dispose();
  }
}

exitWithChecks();
