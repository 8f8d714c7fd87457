/**
 * Summarises a Chrome trace written by the profiler (Kineto's format): GPU kernel time by kernel name, and by the
 * CPU operators that launched each kernel, largest first.
 */
import { readFileSync } from 'node:fs';

export interface KernelTime {
  name: string;
  /** Total microseconds over the profiled steps. */
  totalUs: number;
  calls: number;
}

/** One event of a Chrome trace, as far as these summaries read it. */
export interface TraceEvent {
  cat?: string;
  name?: string;
  ph?: string;
  ts?: number;
  dur?: number;
  pid?: number | string;
  tid?: number | string;
  args?: Record<string, unknown>;
}

/** The events of a trace file (tens of MB for a few training steps: read it once for both summaries). */
export function readTraceEvents(tracePath: string): TraceEvent[] {
  const trace = JSON.parse(readFileSync(tracePath, 'utf8')) as { traceEvents?: TraceEvent[] };
  return trace.traceEvents ?? [];
}

function eventsOf(trace: string | TraceEvent[]): TraceEvent[] {
  return typeof trace === 'string' ? readTraceEvents(trace) : trace;
}

/** Template-heavy kernel names: keep the part that says what it is. */
function shortKernelName(name: string): string {
  return name
    .replace(/^void /, '')
    .replace(/\(anonymous namespace\)::/g, '')
    .replace(/<.*$/s, '')
    .replace(/\(.*$/s, '')
    .slice(0, 90);
}

function isKernel(e: TraceEvent): e is TraceEvent & { name: string; dur: number } {
  return e.cat === 'kernel' && !!e.name && e.dur !== undefined;
}

function addTime(into: Map<string, KernelTime>, name: string, us: number): void {
  const k = into.get(name) ?? { name, totalUs: 0, calls: 0 };
  k.totalUs += us;
  k.calls += 1;
  into.set(name, k);
}

function sortedTimes(byName: Map<string, KernelTime>): KernelTime[] {
  return [...byName.values()].sort((a, b) => b.totalUs - a.totalUs);
}

/** `trace`: a trace file's path or its events (readTraceEvents). */
export function kernelTimes(trace: string | TraceEvent[]): KernelTime[] {
  const byName = new Map<string, KernelTime>();
  for (const e of eventsOf(trace)) if (isKernel(e)) addTime(byName, shortKernelName(e.name), e.dur);
  return sortedTimes(byName);
}

/**
 * Kernel time keyed by `outer op › inner op › kernel`: the outermost and innermost CPU operators open on the
 * launching thread when the kernel was launched (found through the launch's correlation id), e.g.
 * `aten::add › aten::add › vectorized_elementwise_kernel` or, in backward, `autograd::engine::evaluate_function:
 * MmBackward0 › aten::mm › nvjet…`. Says which operator each generic elementwise kernel belongs to, which a
 * by-kernel summary cannot. Launches are runtime (`cudaLaunchKernel`) and driver (`cuLaunchKernelEx`: cuBLAS and
 * cuDNN) events. Kernels count under `(no op)` when their launch is not in the trace (CUDA-graph replays) or no
 * operator was open at it (maskmix's own kernels launched straight from a custom autograd function's forward).
 */
export function kernelTimesByOp(trace: string | TraceEvent[]): KernelTime[] {
  const events = eventsOf(trace);
  // Per launching thread: operator intervals and launch instants, swept in time order with a stack of open operators.
  const threads = new Map<string, { ops: TraceEvent[]; launches: TraceEvent[] }>();
  const thread = (e: TraceEvent) => {
    const key = `${e.pid}/${e.tid}`;
    let t = threads.get(key);
    if (!t) threads.set(key, (t = { ops: [], launches: [] }));
    return t;
  };
  for (const e of events) {
    if (e.ts === undefined) continue;
    if ((e.cat === 'cpu_op' || e.cat === 'user_annotation') && e.dur !== undefined) thread(e).ops.push(e);
    else if ((e.cat === 'cuda_runtime' || e.cat === 'cuda_driver') && e.args?.correlation !== undefined) thread(e).launches.push(e);
  }
  const opsByCorrelation = new Map<unknown, string>();
  for (const { ops, launches } of threads.values()) {
    // Enclosing operators first at equal start (the longer one), launches after operators that start with them.
    ops.sort((a, b) => a.ts! - b.ts! || b.dur! - a.dur!);
    launches.sort((a, b) => a.ts! - b.ts!);
    const open: TraceEvent[] = [];
    let next = 0;
    for (const launch of launches) {
      while (next < ops.length && ops[next].ts! <= launch.ts!) {
        const op = ops[next++];
        while (open.length > 0 && open[open.length - 1].ts! + open[open.length - 1].dur! <= op.ts!) open.pop();
        open.push(op);
      }
      while (open.length > 0 && open[open.length - 1].ts! + open[open.length - 1].dur! < launch.ts!) open.pop();
      if (open.length === 0) continue;
      const outer = open[0].name ?? '?';
      const inner = open[open.length - 1].name ?? '?';
      opsByCorrelation.set(launch.args!.correlation, outer === inner ? outer : `${outer} › ${inner}`);
    }
  }
  const byName = new Map<string, KernelTime>();
  for (const e of events) {
    if (!isKernel(e)) continue;
    const op = opsByCorrelation.get(e.args?.correlation) ?? '(no op)';
    addTime(byName, `${op} › ${shortKernelName(e.name)}`, e.dur);
  }
  return sortedTimes(byName);
}

export function formatKernelTimes(kernels: KernelTime[], steps: number, top = 25): string {
  const total = kernels.reduce((a, k) => a + k.totalUs, 0);
  const lines = [`GPU kernel time per step: ${(total / steps / 1000).toFixed(2)} ms over ${kernels.length} kernel kinds`];
  for (const k of kernels.slice(0, top)) {
    lines.push(`${((k.totalUs / steps) / 1000).toFixed(3).padStart(8)} ms  ${((100 * k.totalUs) / total).toFixed(1).padStart(5)}%  ${String(Math.round((10 * k.calls) / steps) / 10).padStart(5)}×  ${k.name}`);
  }
  return lines.join('\n');
}
