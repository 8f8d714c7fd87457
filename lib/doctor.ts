/**
 * `doctor`: what maskmix finds on this machine — system, libtorch (where and how it was found), the addon, CUDA
 * devices — and whether one training step actually runs. Every check reports instead of throwing, so the report
 * is complete even on a broken install.
 */
import { existsSync, readFileSync } from 'node:fs';
import { arch, platform, release } from 'node:os';
import { join } from 'node:path';

import { describeAttempts, findLibtorch, type LibtorchAttempt, type LibtorchInfo } from '../scripts/find-libtorch.mjs';
import { LanguageModel } from './model.js';
import { knownPrebuilds, loadReport, native, packageRoot, type AddonAttempt, type RuntimeInfo } from './native.js';
import { Trainer } from './trainer.js';

export interface DoctorReport {
  system: {
    os: string;
    arch: string;
    glibc?: string;
    node: string;
    maskmix: string;
    /** The NVIDIA kernel driver's version (e.g. 580.82.07), when one is installed. */
    nvidiaDriver?: string;
  };
  libtorch: { found: boolean; info?: Omit<LibtorchInfo, 'attempts'>; attempts: LibtorchAttempt[] };
  addon: {
    loaded: boolean;
    path?: string;
    /** 'prebuild', 'source' (a local build) or 'explicit' (MASKMIX_ADDON). */
    kind?: string;
    prebuildKey?: string;
    prebuildsShipped: string[];
    attempts?: AddonAttempt[];
    error?: string;
    runtime?: RuntimeInfo;
    /** The c10d backends the addon was built with (data parallelism). */
    distributedBackends?: string[];
  };
  smokeTest: { device: string; ok: boolean; loss?: number; milliseconds?: number; error?: string };
  ok: boolean;
}

export async function doctor(options: { device?: string } = {}): Promise<DoctorReport> {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  const attempts: LibtorchAttempt[] = [];
  const found = findLibtorch({ attempts });
  const report: DoctorReport = {
    system: {
      os: `${platform()} ${release()}`,
      arch: arch(),
      glibc: header?.glibcVersionRuntime,
      node: process.version,
      maskmix: pkg.version,
      nvidiaDriver: nvidiaDriverVersion(),
    },
    libtorch: { found: !!found, attempts },
    addon: { loaded: false, prebuildsShipped: knownPrebuilds() },
    smokeTest: { device: options.device ?? 'cpu', ok: false },
    ok: false,
  };
  if (found) {
    const { attempts: _ignored, ...info } = found;
    report.libtorch.info = info;
  }
  try {
    report.addon.runtime = native().runtimeInfo();
    // An addon built before data parallelism existed has no such export.
    report.addon.distributedBackends = native().distributedBackends?.() ?? [];
    report.addon.loaded = true;
    const load = loadReport();
    report.addon.path = load?.path;
    report.addon.kind = load?.kind;
    report.addon.prebuildKey = load?.prebuildKey;
    report.addon.attempts = load?.attempts;
  } catch (error) {
    report.addon.error = (error as Error).message;
    return report;
  }
  // One real training step on a tiny model: proves libtorch, the addon and the device work together.
  try {
    const start = performance.now();
    const model = await LanguageModel.create({ vocabSize: 64, dModel: 32, nLayers: 2, context: 16, device: report.smokeTest.device });
    const trainer = new Trainer(model, { learningRate: 1e-3 });
    const tokens = Int32Array.from({ length: 2 * 16 }, (_, i) => 1 + (i % 63));
    const step = await trainer.step({ tokens, batch: 2 });
    trainer.dispose();
    model.dispose();
    report.smokeTest = { device: report.smokeTest.device, ok: Number.isFinite(step.loss), loss: step.loss, milliseconds: performance.now() - start };
  } catch (error) {
    report.smokeTest.error = (error as Error).message;
  }
  report.ok = report.addon.loaded && report.smokeTest.ok;
  return report;
}

/** The loaded NVIDIA kernel module's version, read from /proc (no NVML needed); undefined without one. */
export function nvidiaDriverVersion(path = '/proc/driver/nvidia/version'): string | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return /Kernel Module(?: for \S+)?\s+(\d+(?:\.\d+)+)/.exec(readFileSync(path, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** cudaDriverGetVersion's 13000 → '13.0'. */
function cudaVersionText(v: number | undefined): string {
  return v === undefined ? '?' : `${Math.floor(v / 1000)}.${(v % 1000) / 10}`;
}

/** The report as lines for a person. */
export function formatDoctorReport(r: DoctorReport): string {
  const lines = [
    `system      ${r.system.os} ${r.system.arch}, glibc ${r.system.glibc ?? '?'}, Node ${r.system.node}, maskmix ${r.system.maskmix}`,
  ];
  if (r.libtorch.info) {
    const t = r.libtorch.info;
    lines.push(`libtorch    ${t.version} (${t.cuda ? `CUDA${t.cudaVersion ? ' ' + t.cudaVersion : ''}` : 'CPU only'}, C++11 ABI ${t.cxx11Abi}) at ${t.root}`);
    lines.push(`            found via ${t.source}; libraries in ${t.libDir}`);
  } else {
    lines.push('libtorch    NOT FOUND. Looked in:', describeAttempts(r.libtorch.attempts));
    lines.push('            fix: apt-get install libtorch-dev libopenblas0-pthread, or set MASKMIX_LIBTORCH=<libtorch folder>');
  }
  if (r.addon.runtime) {
    const rt = r.addon.runtime;
    lines.push(`addon       ${r.addon.kind === 'prebuild' ? 'prebuilt' : r.addon.kind === 'source' ? 'source build' : 'MASKMIX_ADDON'} ${r.addon.path}`);
    lines.push(`            prebuild key ${r.addon.prebuildKey}; shipped: ${r.addon.prebuildsShipped.join(', ') || 'none'}`);
    lines.push(`            libtorch ${rt.torchVersion}, ${rt.numThreads} CPU threads, built ${rt.builtWithCuda ? 'with' : 'without'} CUDA`);
    const backends = r.addon.distributedBackends ?? [];
    lines.push(
      `distributed ${backends.length ? `c10d backends: ${backends.join(', ')}` : 'no c10d backend'}` +
        (backends.includes('gloo') ? '' : ' (CPU data parallelism needs Gloo: apt-get install libgloo-dev, then rebuild)'),
    );
    const driver = r.system.nvidiaDriver ? `NVIDIA driver ${r.system.nvidiaDriver}` : 'no NVIDIA driver';
    lines.push(
      `cuda        ${rt.cudaAvailable ? `available: CUDA runtime ${cudaVersionText(rt.cudaRuntimeVersion)}, ${driver} (supports CUDA ≤ ${cudaVersionText(rt.cudaDriverVersion)})` : `not available (${driver})`}`,
    );
    if (rt.ncclVersion) lines.push(`nccl        ${rt.ncclVersion}`);
    for (const d of rt.devices) {
      lines.push(`  gpu ${d.index}     ${d.name}, SM ${d.sm}, ${(d.freeMemory / 2 ** 30).toFixed(1)} / ${(d.totalMemory / 2 ** 30).toFixed(1)} GiB free`);
    }
  } else {
    lines.push(`addon       NOT LOADED: ${r.addon.error}`);
  }
  const s = r.smokeTest;
  lines.push(
    s.ok
      ? `smoke test  one training step on ${s.device}: loss ${s.loss!.toFixed(3)} in ${s.milliseconds!.toFixed(0)} ms`
      : `smoke test  FAILED on ${s.device}${s.error ? `: ${s.error}` : ''}`,
  );
  lines.push(r.ok ? 'verdict     ready' : 'verdict     NOT READY');
  return lines.join('\n');
}
