#!/usr/bin/env node
// A short greedy decode of the SPEC §7 decode model (repeat mixer d1024 L8 V8000, batch 1, bf16 weights) for a
// kernel profiler to look at: capture, then a few graph replays of the fused step. Run under Nsight Compute, e.g.
//   ncu --clock-control none --graph-profiling node --kernel-name regex:'gemvStep' \
//       --launch-skip 33 --launch-count 33 --metrics gpu__time_duration.sum,dram__bytes_read.sum --csv \
//       node scripts/gpu/profile-decode.mjs [structure] [batch]
// to read each kernel's own duration (kernels serialised, no launch gaps) against the step's wall time.
import { Decoder, LanguageModel } from '../../dist/lib/index.js';
import { SPEC_DECODE_MODEL } from './decode-model.mjs';

const structure = process.argv[2] ?? 'mixed';
const batch = Number(process.argv[3] ?? 1);
const model = await LanguageModel.create({ kind: 'repeat', structure, ...SPEC_DECODE_MODEL });
const decoder = new Decoder(model, { batch, precision: 'auto' });
await decoder.prefill(Int32Array.from({ length: 64 * batch }, (_, i) => 1 + ((i * 37) % 7999)));
const run = await decoder.greedy(Array.from({ length: batch }, () => 5), 4);
console.log(`greedy: graphed ${run.graphed}, fused ${run.fused}, tokens ${Array.from(run.tokens).join(' ')}`);
decoder.dispose();
model.dispose();
