#!/usr/bin/env node
// Where a fused greedy step's time goes, kernel by kernel, with the launches overlapped as they run in production
// (a profiler that serialises kernels cannot show this). Runs the SPEC §7 decode model (repeat mixer d1024 L8
// V8000, bf16 weights) with MASKMIX_DECODE_TIMELINE set: thread 0 of every block of every GEMV kernel notes the
// %globaltimer at its entry, when its wait on the previous kernel returned, once its input was staged (and
// normalised), once its warp's products were summed, and at its exit (native/kernels/repeat_decode.cu), for the
// last 64 steps. Prints, per launch averaged over those steps (µs after the step's first block entered):
//   entered    the first block's entry (the kernel launched: its weight loads start)
//   released   the first and the last block's wait return (the previous kernel's end seen)
//   exited     the last block's exit
//   handover   released_first − the previous launch's exited: from one kernel's end to the next one's start
//   body       exited − released_first: from the wait to the last block's end
//   staging, products, epilogue: per block, mean (and longest) time from the wait to the staged input, from there to
//              the summed products (the weights' arrival shows here), and from there to the exit
// Other MASKMIX_DECODE_* settings in the environment pass through to the addon.
// Usage: node scripts/gpu/decode-timeline.mjs [--int8] [structure] [batch] [file]   (default mixed 1 $OUT/timeline.txt;
//        --int8: the decoder option weights 'int8', the kernels reading int8 matrices)
//        node scripts/gpu/decode-timeline.mjs --summarise file   (the table of a timeline file written earlier; no GPU)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const KINDS = ['norm→mix', 'residual', 'norm→gelu', 'argmax'];  // kernels::RepeatDecodeGemvKind order

if (process.argv[2] === '--summarise') {
  printTimeline(process.argv[3]);
  process.exit(0);
}

const { Decoder, LanguageModel } = await import('../../dist/lib/index.js');
const { SPEC_DECODE_MODEL } = await import('./decode-model.mjs');
const weights = process.argv.includes('--int8') ? 'int8' : 'model';
const [structure = 'mixed', batchArg = '1', fileArg] = process.argv.slice(2).filter((a) => a !== '--int8');
const batch = Number(batchArg);
const file = fileArg ?? join(process.env.OUT ?? '/tmp', 'timeline.txt');

const model = await LanguageModel.create({ kind: 'repeat', structure, ...SPEC_DECODE_MODEL });

// µs per token of a 2000-token greedy run, with the timeline recorded or not (what recording costs).
async function timeGreedy(timeline) {
  if (timeline) process.env.MASKMIX_DECODE_TIMELINE = file;
  try {
    const decoder = new Decoder(model, { batch, precision: 'auto', weights });
    await decoder.prefill(Int32Array.from({ length: 1024 * batch }, (_, i) => 1 + ((i * 37) % 7999)));
    const first = Array.from({ length: batch }, () => 5);
    const warm = await decoder.greedy(first, 8);  // captures
    const t0 = performance.now();
    const run = await decoder.greedy(first, 2000);
    const us = ((performance.now() - t0) / 2000) * 1000;
    decoder.dispose();  // writes the timeline
    if (!(warm.fused && run.fused)) throw new Error('the step did not run the fused kernels');
    if (weights === 'int8' && !run.int8Weights) throw new Error('the step did not read int8 weights');
    if (process.env.MASKMIX_DECODE_TENSOR_CORES === '1' && weights !== 'int8' && !run.tensorCores)
      throw new Error('MASKMIX_DECODE_TENSOR_CORES=1 but the step did not take its products on tensor cores');
    return us;
  } finally {
    delete process.env.MASKMIX_DECODE_TIMELINE;
  }
}

const plain = await timeGreedy(false);
const recorded = await timeGreedy(true);
console.log(`d1024 L8 ${structure} repeat, batch ${batch}, ${weights === 'int8' ? 'int8' : process.env.MASKMIX_DECODE_TENSOR_CORES === '1' ? 'bf16 (tensor cores)' : 'bf16'} weights: ${plain.toFixed(1)} µs/token; ${recorded.toFixed(1)} while recording the timeline`);

printTimeline(file, recorded);
model.dispose();

// The per-launch table of a timeline file (its first line is a header); `recorded`: µs a token while recording.
function printTimeline(path, recorded) {
  const rows = readFileSync(path, 'utf8').trim().split('\n').slice(1).map((line) => line.split(' ').map(Number));
  const launches = Math.max(...rows.map((r) => r[1])) + 1;
  const steps = new Set(rows.map((r) => r[0])).size;
  const mean = (launch, column) => {
    const values = rows.filter((r) => r[1] === launch).map((r) => r[column]);
    return values.reduce((a, b) => a + b, 0) / values.length / 1000;
  };
  const f = (x, width = 6) => x.toFixed(2).padStart(width);
  console.log(`mean over ${steps} steps, µs after the step's first block entered:`);
  console.log('launch kind        blocks  entered  released(first..last)  exited  handover  body | per block: staging (max)  products (max)  epilogue (max)');
  let previousExit = null;
  const totals = { handover: 0, body: 0 };
  for (let i = 0; i < launches; i++) {
    const first = rows.find((r) => r[1] === i);
    const [entered, releasedFirst, releasedLast, exited] = [4, 5, 6, 7].map((c) => mean(i, c));
    const handover = previousExit === null ? 0 : releasedFirst - previousExit;
    const body = exited - releasedFirst;
    totals.handover += handover;
    totals.body += body;
    console.log(`${String(i).padStart(6)} ${KINDS[first[2]].padEnd(11)} ${String(first[3]).padStart(6)} ${f(entered, 8)} ` +
      `${f(releasedFirst, 10)}..${releasedLast.toFixed(2).padEnd(10)} ${f(exited, 7)} ${f(handover, 9)} ${f(body, 5)} | ` +
      `${f(mean(i, 8))} (${f(mean(i, 9))})  ${f(mean(i, 10))} (${f(mean(i, 11))})  ${f(mean(i, 12))} (${f(mean(i, 13))})`);
    previousExit = exited;
  }
  const between = recorded === undefined ? '' : `; the rest of the ${recorded.toFixed(1)} µs/token is between steps (graph replays)`;
  console.log(`step (first entry to the head's last exit) ${previousExit.toFixed(1)} µs: hand-overs ${totals.handover.toFixed(1)} µs, ` +
    `bodies ${totals.body.toFixed(1)} µs${between}`);
}
