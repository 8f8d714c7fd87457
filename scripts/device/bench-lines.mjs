#!/usr/bin/env node
// One line per implementation of a `maskmix bench --json` file: workload, [label,] implementation, ms per step,
// tokens/s, peak GiB, first loss, the TypeScript loop's overhead where measured, and any error. Used by the device
// scripts that run the bench (gpu-run.sh, step-variants.sh).
// Usage: node scripts/device/bench-lines.mjs FILE [label]
import { readFileSync } from 'node:fs';

const [file, label] = process.argv.slice(2);
const report = JSON.parse(readFileSync(file, 'utf8'));
for (const result of report.results)
  for (const s of result.sides)
    console.log(
      [result.workload, label, s.implementation, `${s.msPerStep.toFixed(2)} ms`, `${Math.round(s.tokensPerSecond)} tok/s`,
        `${(s.peakMemoryBytes / 2 ** 30).toFixed(2)} GiB`, `loss0 ${s.lossFirst.toFixed(4)}`,
        s.loopOverhead !== undefined ? `loop ${(100 * s.loopOverhead).toFixed(2)}%` : '', s.error ?? '']
        .filter((part) => part !== undefined && part !== '')
        .join('  '),
    );
