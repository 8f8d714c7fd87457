/**
 * Side-by-side training benchmark: maskmix's step and the PyTorch reference (scripts/bench/reference.py, eager and
 * torch.compile) on the same GPU, the same initial weights (written to safetensors) and the same batch. Both sides
 * report the median of per-step CUDA-event times after warm-up; the initial float32 loss of each side is compared
 * first, so the comparison is of equal work.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { saveWeights } from '../checkpoint.js';
import { mulberry32 } from '../data/random.js';
import { MaskmixError } from '../errors.js';
import { LanguageModel } from '../model.js';
import { resolveModelConfig } from '../model-config.js';
import { native, packageRoot } from '../native.js';
import { Trainer } from '../trainer.js';
import { formatKernelTimes, kernelTimes, kernelTimesByOp, readTraceEvents } from './trace-summary.js';
import type { TrainWorkload } from './workloads.js';

const run = promisify(execFile);

export interface SideResult {
  implementation: string;
  msPerStep: number;
  tokensPerSecond: number;
  peakMemoryBytes: number;
  lossFirst: number;
  /** maskmix only: wall time per step seen in TypeScript, and its excess over the device time. */
  wallMsPerStep?: number;
  loopOverhead?: number;
  error?: string;
}

export interface WorkloadResult {
  workload: string;
  tokensPerStep: number;
  sides: SideResult[];
  /** maskmix throughput ÷ each reference's. */
  speedup: Record<string, number>;
  /** maskmix peak memory ÷ each reference's. */
  memoryRatio: Record<string, number>;
  /** |loss_first(maskmix) − loss_first(reference)|: equal initial work when tiny. */
  lossFirstGap: Record<string, number>;
}

export interface BenchOptions {
  device: string;
  warmup: number;
  steps: number;
  /** Reference modes to run beside maskmix ([] = none). */
  references: Array<'eager' | 'compile'>;
  python?: string;
  learningRate?: number;
  log?: (line: string) => void;
  /** Also profile 3 maskmix steps into this folder (trace, kernel summary, kernel time by operator); CUDA builds. */
  profileDir?: string;
  /** Train maskmix's side with the step captured as one CUDA graph (the Trainer's `cudaGraph`). */
  cudaGraph?: boolean;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Random token ids in [1, V) so no target is the pad id (0) and every position counts. */
function benchBatch(vocab: number, rows: number, context: number): Int32Array {
  const rng = mulberry32(1234);
  return Int32Array.from({ length: rows * context }, () => 1 + Math.floor(rng() * (vocab - 1)));
}

function deviceIndex(device: string): number {
  const m = device.match(/^cuda(?::(\d+))?$/);
  return m ? Number(m[1] ?? 0) : -1;
}

async function benchMaskmix(workload: TrainWorkload, tokens: Int32Array, dir: string, options: BenchOptions): Promise<SideResult> {
  const config = resolveModelConfig({ ...workload.model, device: options.device, seed: 0 });
  const model = await LanguageModel.create(config);
  await saveWeights(model, join(dir, 'init.safetensors'));
  const batch = { tokens, batch: workload.batch };
  const lossFirst = (await model.evalLoss(batch, { precision: 'fp32' })).loss;
  const trainer = new Trainer(model, { learningRate: options.learningRate ?? 5e-4, gradClip: 1, cudaGraph: options.cudaGraph ?? false });
  const gpu = deviceIndex(options.device);
  if (gpu >= 0) native().cudaMemory(gpu, { resetPeak: true });
  for (let i = 0; i < options.warmup; i++) await trainer.step(batch, { readBack: i === options.warmup - 1 });
  // Timed: the host runs ahead (no read-back) until the last step, which waits and returns every step's time.
  // (On the CPU every step reads back, so the step times arrive one by one; gather them all.)
  const start = performance.now();
  const deviceMs: number[] = [];
  for (let i = 0; i < options.steps; i++) {
    const r = await trainer.step(batch, { readBack: i === options.steps - 1 });
    deviceMs.push(...(r.deviceMilliseconds ?? []));
  }
  const wallMs = (performance.now() - start) / options.steps;
  const msPerStep = median(deviceMs);
  const meanDevice = deviceMs.reduce((a, b) => a + b, 0) / Math.max(1, deviceMs.length);
  const peak = gpu >= 0 ? native().cudaMemory(gpu).peakAllocated : Number.NaN;
  if (options.profileDir) {
    const trace = join(options.profileDir, `${workload.name}.trace.json`);
    await trainer.profile(batch, 3, trace);
    const events = readTraceEvents(trace);
    const summary = formatKernelTimes(kernelTimes(events), 3);
    writeFileSync(join(options.profileDir, `${workload.name}.kernels.txt`), summary + '\n');
    writeFileSync(join(options.profileDir, `${workload.name}.ops.txt`), formatKernelTimes(kernelTimesByOp(events), 3, 80) + '\n');
    options.log?.(summary);
  }
  trainer.dispose();
  model.dispose();
  return {
    implementation: 'maskmix',
    msPerStep,
    tokensPerSecond: (tokens.length / msPerStep) * 1000,
    peakMemoryBytes: peak,
    lossFirst,
    wallMsPerStep: wallMs,
    loopOverhead: wallMs / meanDevice - 1,
  };
}

async function benchReference(
  workload: TrainWorkload,
  mode: 'eager' | 'compile',
  dir: string,
  options: BenchOptions,
): Promise<SideResult> {
  const m = resolveModelConfig(workload.model);
  const args = [
    join(packageRoot(), 'scripts', 'bench', 'reference.py'),
    '--model', m.kind, '--d', String(m.dModel), '--layers', String(m.nLayers), '--ctx', String(m.context),
    '--batch', String(workload.batch), '--vocab', String(m.vocabSize), '--pad-id', String(m.padId),
    '--steps', String(options.steps), '--warmup', String(options.warmup), '--mode', mode,
    '--weights', join(dir, 'init.safetensors'), '--tokens', join(dir, 'batch.i32'),
    '--lr', String(options.learningRate ?? 5e-4), '--weight-decay', '0',
    '--device', options.device,
  ];
  if (m.kind === 'llama') args.push('--heads', String(m.nHeads), '--intermediate', String(m.intermediateSize), '--rms-eps', String(m.normEps));
  try {
    const { stdout } = await run(options.python ?? 'python3', args, { maxBuffer: 64 * 2 ** 20, timeout: 1_200_000 });
    const r = JSON.parse(stdout) as { ms_per_step_median: number; tokens_per_s: number; peak_mem_bytes: number; loss_first: number };
    return {
      implementation: `pytorch-${mode}`,
      msPerStep: r.ms_per_step_median,
      tokensPerSecond: r.tokens_per_s,
      peakMemoryBytes: r.peak_mem_bytes,
      lossFirst: r.loss_first,
    };
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    const reason = (e.stderr ?? e.message).trim().split('\n').slice(-3).join(' | ');
    return { implementation: `pytorch-${mode}`, msPerStep: NaN, tokensPerSecond: NaN, peakMemoryBytes: NaN, lossFirst: NaN, error: reason };
  }
}

export async function benchWorkload(workload: TrainWorkload, options: BenchOptions): Promise<WorkloadResult> {
  const config = resolveModelConfig(workload.model);
  const dir = mkdtempSync(join(tmpdir(), 'maskmix-bench-'));
  try {
    const tokens = benchBatch(config.vocabSize, workload.batch, config.context);
    writeFileSync(join(dir, 'batch.i32'), Buffer.from(tokens.buffer, tokens.byteOffset, tokens.byteLength));
    options.log?.(`[bench] ${workload.name}: maskmix`);
    const sides = [await benchMaskmix(workload, tokens, dir, options)];
    for (const mode of options.references) {
      options.log?.(`[bench] ${workload.name}: pytorch ${mode}`);
      sides.push(await benchReference(workload, mode, dir, options));
    }
    const ours = sides[0];
    const speedup: Record<string, number> = {};
    const memoryRatio: Record<string, number> = {};
    const lossFirstGap: Record<string, number> = {};
    for (const side of sides.slice(1)) {
      speedup[side.implementation] = ours.tokensPerSecond / side.tokensPerSecond;
      memoryRatio[side.implementation] = ours.peakMemoryBytes / side.peakMemoryBytes;
      lossFirstGap[side.implementation] = Math.abs(ours.lossFirst - side.lossFirst);
    }
    return { workload: workload.name, tokensPerStep: tokens.length, sides, speedup, memoryRatio, lossFirstGap };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A number with `digits` decimals, or a dash where there is none (a failed side, a CPU's memory). */
function fixedOrDash(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

/** The comparison as a fixed-width table. */
export function formatBenchTable(results: WorkloadResult[]): string {
  const rows = [['workload', 'implementation', 'ms/step', 'tokens/s', 'peak GiB', 'loss₀', 'speed ×', 'memory ×']];
  for (const r of results) {
    for (const s of r.sides) {
      const ref = s.implementation === 'maskmix' ? '' : s.implementation;
      rows.push([
        r.workload,
        s.error ? `${s.implementation} (failed: ${s.error.slice(0, 60)})` : s.implementation,
        fixedOrDash(s.msPerStep, 2),
        Number.isFinite(s.tokensPerSecond) ? Math.round(s.tokensPerSecond).toLocaleString('en-US') : '—',
        fixedOrDash(s.peakMemoryBytes / 2 ** 30, 2), // not measured on the CPU
        fixedOrDash(s.lossFirst, 4),
        ref ? fixedOrDash(r.speedup[ref], 2) : s.loopOverhead !== undefined ? `loop +${(s.loopOverhead * 100).toFixed(1)}%` : '',
        ref ? fixedOrDash(r.memoryRatio[ref], 2) : '',
      ]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join('  ')).join('\n');
}

export function requireGpuForReference(options: BenchOptions): void {
  if (options.references.length > 0 && !options.device.startsWith('cuda')) {
    throw new MaskmixError('INVALID_ARGUMENT', 'the PyTorch reference runs on a GPU: use --device cuda, or --no-reference on the CPU');
  }
}
