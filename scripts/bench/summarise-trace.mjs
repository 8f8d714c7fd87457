#!/usr/bin/env node
// Kernel-time table of a Chrome trace from either side of `maskmix bench`: maskmix's `--profile <dir>` traces or
// scripts/bench/reference.py's `--profile-trace FILE` (torch.profiler), so the two steps' kernels can be read side by
// side in one format. Run after `npx tsc` (it uses dist/):
//   node scripts/bench/summarise-trace.mjs TRACE.json [STEPS=3] [TOP=40]
import { formatKernelTimes, kernelTimes, readTraceEvents } from '../../dist/lib/bench/trace-summary.js';

const [trace, steps = '3', top = '40'] = process.argv.slice(2);
if (!trace) {
  console.error('usage: node scripts/bench/summarise-trace.mjs TRACE.json [STEPS=3] [TOP=40]');
  process.exit(2);
}
console.log(formatKernelTimes(kernelTimes(readTraceEvents(trace)), Number(steps), Number(top)));
