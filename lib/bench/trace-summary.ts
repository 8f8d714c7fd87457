/** Summarises a Chrome trace written by the profiler: GPU kernel time by kernel name, largest first. */
import { readFileSync } from 'node:fs';

export interface KernelTime {
  name: string;
  /** Total microseconds over the profiled steps. */
  totalUs: number;
  calls: number;
}

export function kernelTimes(tracePath: string): KernelTime[] {
  const trace = JSON.parse(readFileSync(tracePath, 'utf8')) as { traceEvents?: Array<{ cat?: string; name?: string; dur?: number }> };
  const byName = new Map<string, KernelTime>();
  for (const e of trace.traceEvents ?? []) {
    if (e.cat !== 'kernel' || !e.name || e.dur === undefined) continue;
    // Template-heavy kernel names: keep the part that says what it is.
    const name = e.name
      .replace(/^void /, '')
      .replace(/\(anonymous namespace\)::/g, '')
      .replace(/<.*$/s, '')
      .replace(/\(.*$/s, '')
      .slice(0, 90);
    const k = byName.get(name) ?? { name, totalUs: 0, calls: 0 };
    k.totalUs += e.dur;
    k.calls += 1;
    byName.set(name, k);
  }
  return [...byName.values()].sort((a, b) => b.totalUs - a.totalUs);
}

export function formatKernelTimes(kernels: KernelTime[], steps: number, top = 25): string {
  const total = kernels.reduce((a, k) => a + k.totalUs, 0);
  const lines = [`GPU kernel time per step: ${(total / steps / 1000).toFixed(2)} ms over ${kernels.length} kernel kinds`];
  for (const k of kernels.slice(0, top)) {
    lines.push(`${((k.totalUs / steps) / 1000).toFixed(3).padStart(8)} ms  ${((100 * k.totalUs) / total).toFixed(1).padStart(5)}%  ${String(k.calls / steps).padStart(5)}×  ${k.name}`);
  }
  return lines.join('\n');
}
