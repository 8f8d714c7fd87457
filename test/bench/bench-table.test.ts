// The training bench's table prints a dash, never "NaN", where a value was not measured: peak memory on the CPU,
// every number of a reference side that failed.
import { describe, expect, it } from 'vitest';

import { formatBenchTable, type WorkloadResult } from '../../lib/bench/training-bench.js';

describe('bench table', () => {
  it('shows unmeasured values as dashes', () => {
    const result: WorkloadResult = {
      workload: 'mixer-tiny',
      tokensPerStep: 64,
      sides: [
        { implementation: 'maskmix', msPerStep: 3.25, tokensPerSecond: 19692.3, peakMemoryBytes: NaN, lossFirst: 5.5, loopOverhead: 0.01 },
        { implementation: 'pytorch-eager', msPerStep: NaN, tokensPerSecond: NaN, peakMemoryBytes: NaN, lossFirst: NaN, error: 'no python3' },
      ],
      speedup: { 'pytorch-eager': NaN },
      memoryRatio: { 'pytorch-eager': NaN },
      lossFirstGap: { 'pytorch-eager': NaN },
    };
    const table = formatBenchTable([result]);
    expect(table).not.toMatch(/NaN/);
    expect(table).toMatch(/3\.25/);
    expect(table).toMatch(/19,692/);
    expect(table).toMatch(/pytorch-eager \(failed: no python3\)/);
    expect(table).toMatch(/—/);
  });
});
