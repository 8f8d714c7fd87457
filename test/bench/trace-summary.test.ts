import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { formatKernelTimes, kernelTimes, kernelTimesByOp, readTraceEvents } from '../../lib/bench/trace-summary.js';

// A hand-made Kineto-style trace: a forward thread (tid 1) with nested operators and an autograd thread (tid 2);
// each launch (cuda_runtime) and its kernel share a correlation id.
function writeTrace(): string {
  const op = (tid: number, name: string, ts: number, dur: number) => ({ ph: 'X', cat: 'cpu_op', name, pid: 7, tid, ts, dur });
  const launch = (tid: number, ts: number, correlation: number) => ({ ph: 'X', cat: 'cuda_runtime', name: 'cudaLaunchKernel', pid: 7, tid, ts, dur: 1, args: { correlation } });
  const kernel = (name: string, dur: number, correlation: number) => ({ ph: 'X', cat: 'kernel', name, pid: 0, tid: 9, ts: 1000 + correlation, dur, args: { correlation } });
  const events = [
    op(1, 'aten::to', 10, 20), op(1, 'aten::_to_copy', 11, 18), op(1, 'aten::copy_', 12, 15), launch(1, 13, 1),
    op(1, 'aten::add', 40, 10), launch(1, 42, 2),
    op(1, 'aten::add', 60, 10), launch(1, 62, 3),
    op(2, 'autograd::engine::evaluate_function: MmBackward0', 100, 50), op(2, 'aten::mm', 105, 10),
    { ...launch(2, 107, 4), cat: 'cuda_driver', name: 'cuLaunchKernelEx' },  // cuBLAS launches through the driver API
    launch(1, 200, 5),  // outside any operator
    kernel('void at::native::vectorized_elementwise_kernel<4, CopyFunctor>(int, T)', 5, 1),
    kernel('void at::native::vectorized_elementwise_kernel<4, AddFunctor>(int, T)', 7, 2),
    kernel('void at::native::vectorized_elementwise_kernel<4, AddFunctor>(int, T)', 9, 3),
    kernel('nvjet_sm90_tst_256x128', 30, 4),
    kernel('void (anonymous namespace)::lonely<float>(float*)', 2, 5),
    kernel('graph replay kernel', 4, 99),  // no launch recorded
  ];
  const dir = mkdtempSync(join(tmpdir(), 'maskmix-trace-'));
  const path = join(dir, 'trace.json');
  writeFileSync(path, JSON.stringify({ traceEvents: events }));
  return path;
}

describe('trace summary', () => {
  it('sums kernel time by short kernel name', () => {
    const times = kernelTimes(writeTrace());
    expect(times[0]).toEqual({ name: 'nvjet_sm90_tst_256x128', totalUs: 30, calls: 1 });
    expect(times.find((k) => k.name === 'at::native::vectorized_elementwise_kernel')).toEqual({
      name: 'at::native::vectorized_elementwise_kernel',
      totalUs: 21,
      calls: 3,
    });
    expect(times.map((k) => k.name)).toContain('lonely');
  });

  it('attributes each kernel to the outermost and innermost operator open at its launch', () => {
    const byOp = new Map(kernelTimesByOp(writeTrace()).map((k) => [k.name, k]));
    expect(byOp.get('aten::to › aten::copy_ › at::native::vectorized_elementwise_kernel')).toMatchObject({ totalUs: 5, calls: 1 });
    expect(byOp.get('aten::add › at::native::vectorized_elementwise_kernel')).toMatchObject({ totalUs: 16, calls: 2 });
    expect(byOp.get('autograd::engine::evaluate_function: MmBackward0 › aten::mm › nvjet_sm90_tst_256x128')).toMatchObject({ totalUs: 30 });
    expect(byOp.get('(no op) › lonely')).toMatchObject({ totalUs: 2 });
    expect(byOp.get('(no op) › graph replay kernel')).toMatchObject({ totalUs: 4 });
    expect([...byOp.values()].reduce((a, k) => a + k.totalUs, 0)).toBe(5 + 7 + 9 + 30 + 2 + 4);
  });

  it('gives the same summaries from events read once as from the file', () => {
    const path = writeTrace();
    const events = readTraceEvents(path);
    expect(kernelTimes(events)).toEqual(kernelTimes(path));
    expect(kernelTimesByOp(events)).toEqual(kernelTimesByOp(path));
  });

  it('formats per-step times and call counts', () => {
    const text = formatKernelTimes(kernelTimes(writeTrace()), 3);
    expect(text.split('\n')[0]).toBe('GPU kernel time per step: 0.02 ms over 4 kernel kinds');
    expect(text).toContain('    1×  at::native::vectorized_elementwise_kernel');
    expect(text).toContain('  0.3×  nvjet_sm90_tst_256x128');
  });
});
