/**
 * The one place that loads the native addon. Everything else imports `native()` from here, so loading (and the
 * message when it fails) is decided once. The addon is loaded lazily: `maskmix doctor` and `--help` work even
 * when libtorch is missing. There is no install script: a matching prebuild (prebuilds/<key>/) or an explicit
 * source build (`maskmix build`) is found at run time.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describeAttempts, findLibtorch, type LibtorchAttempt, type LibtorchInfo } from '../scripts/find-libtorch.mjs';
import { MaskmixError } from './errors.js';
import { prebuildDir, prebuildKey, readPrebuildInfo } from './loading/prebuild-key.js';
import { preloadLibraries } from './loading/preload.js';
import { probeAddon } from './loading/probe.js';
import type { DType, TypedArray } from './tensor-types.js';
import type { StepResult } from './trainer.js';

/** The native Tensor handle (see native/tensor/tensor_wrap.h). */
export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: DType;
  readonly device: string;
  readonly disposed: boolean;
  toTypedArray(): TypedArray;
  to(dtype?: DType, device?: string): NativeTensor;
  dispose(): void;
}

/** Model configuration as the addon reads it (lib/model-config.ts validates it first). */
export interface NativeModelConfig {
  kind: string;
  vocabSize: number;
  dModel: number;
  nLayers: number;
  context: number;
  padId: number;
  seed: number;
  device: string;
  dtype?: string;
  ffMultiplier?: number;
  fused?: boolean;
  structure?: string;
  kernelSize?: number;
  nHeads?: number;
  intermediateSize?: number;
  ropeTheta?: number;
  normEps?: number;
  mixingExpansion?: number;
  mixingSoftmax?: boolean;
  bidirectional?: boolean;
  predictTokens?: number;
  pattern?: string;
  order?: number;
  window?: number;
  coefficients?: string;
  projections?: boolean;
  linearSolve?: string;
}

export interface NativeSampling {
  temperature?: number;
  topK?: number;
  topP?: number;
  uniform?: number;
}

/** The native Model handle (see native/bindings/model_wrap.h). */
export interface NativeModel {
  forward(tokens: Int32Array, batch: number): Promise<NativeTensor>;
  logProbs(tokens: Int32Array, batch: number): Promise<Float32Array>;
  evalLoss(tokens: Int32Array, batch: number, options?: { precision?: 'auto' | 'fp32' }): Promise<{ loss: number; targets: number }>;
  lossGradients(
    tokens: Int32Array,
    batch: number,
    options?: { objective?: 'next-token' | 'infonce'; infoNceGroup?: number; infoNceTemperature?: number; embeddingToken?: 'last' | 'second-to-last' },
  ): Promise<{ loss: number; gradients: Record<string, NativeTensor> }>;
  embed(tokens: Int32Array, batch: number, options: { token?: 'last' | 'second-to-last'; precision?: 'auto' | 'fp32' }): Promise<NativeTensor>;
  nextToken(tokens: Int32Array, options: NativeSampling): Promise<{ token: number; logProb: number }>;
  stateDict(): Record<string, NativeTensor>;
  loadStateDict(tensors: Record<string, NativeTensor>): void;
  dispose(): void;
  readonly numParameters: number;
  readonly config: NativeModelConfig;
  /** Whether decoders of this model keep per-layer states (else they re-run the prefix). */
  readonly cachedDecoding: boolean;
  /** Input representation (native/analysis/inversion.h). */
  invert(
    tokens: Int32Array,
    batch: number,
    options: { layer: number; iterations?: number; learningRate: number; seed?: number },
  ): Promise<{ tokens: Int32Array; hamming: number; initialLoss: number; loss: number }>;
  /** Eval loss at each prediction offset 1 … predictTokens (native/train/multi_token.h). */
  multiTokenLosses(tokens: Int32Array, batch: number): Promise<number[]>;
}

/** Sampling inside a decoding call: one uniform draw in [0, 1) per sequence. */
export interface NativeDecodeSampling {
  temperature?: number;
  topK?: number;
  topP?: number;
  uniforms: number[] | Float64Array;
}

export interface NativeDecodeResult {
  logits: NativeTensor;
  tokens?: Int32Array;
  logProbs?: Float64Array;
}

/** The native Decoder handle (see native/bindings/decoder_wrap.h). */
export interface NativeDecoder {
  prefill(tokens: Int32Array, options?: { logits?: 'last' | 'all'; sampling?: NativeDecodeSampling }): Promise<NativeDecodeResult>;
  step(tokens: Int32Array, options?: { sampling?: NativeDecodeSampling }): Promise<NativeDecodeResult>;
  greedy(
    first: Int32Array,
    count: number,
  ): Promise<{ tokens: Int32Array; graphed: boolean; fused: boolean; int8Weights: boolean; tensorCores: boolean }>;
  clone(options?: { copies?: number }): Promise<NativeDecoder>;
  reset(): void;
  dispose(): void;
  readonly position: number;
  readonly batch: number;
  readonly cacheBytes: number;
  readonly mode: 'cached' | 'full-prefix';
}

export interface NativeRepeatWeights {
  structure: string;
  weight: NativeTensor;
  rowWeight?: NativeTensor;
  diagonal?: NativeTensor;
  bias: NativeTensor;
  decay?: NativeTensor;
  decayConstant: number;
}

export interface NativeTrainConfig {
  learningRate?: number;
  warmupSteps?: number;
  totalSteps?: number;
  minLrRatio?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  gradClip?: number;
  precision?: 'auto' | 'bf16' | 'fp32';
  objective?: 'next-token' | 'infonce';
  infoNceGroup?: number;
  infoNceTemperature?: number;
  embeddingToken?: 'last' | 'second-to-last';
  gradientAccumulation?: number;
  cudaGraph?: boolean;
}

export interface NativeTrainer {
  /** `targets` (shaped like tokens): the tokens the loss predicts; padId entries are not scored. */
  step(tokens: Int32Array, batch: number, options?: { readBack?: boolean; targets?: Int32Array }): Promise<StepResult>;
  learningRateAt(step: number): number;
  profile(tokens: Int32Array, batch: number, steps: number, path: string): Promise<void>;
  stateDict(): { step: number; tensors: Record<string, NativeTensor> };
  loadStateDict(state: { step: number; tensors: Record<string, NativeTensor> }): void;
  /** Data-parallel training over `group` (null: off); returns the number of gradient buckets. */
  setProcessGroup(group: NativeProcessGroup | null, options?: { bucketBytes?: number }): number;
  readonly stepsTaken: number;
  /** Bucket all-reduces started by the current process group's gradient sync (0 without one). */
  readonly gradientBucketLaunches: number;
  dispose(): void;
}

/** Options of createProcessGroup, as the addon reads them (lib/dist/process-group.ts validates them first). */
export interface NativeProcessGroupOptions {
  backend: 'gloo' | 'nccl';
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  timeoutMs: number;
  device: string;
  glooInterface?: string;
}

/** The native ProcessGroup handle (see native/bindings/process_group_wrap.h). */
export interface NativeProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: 'gloo' | 'nccl';
  readonly device: string;
  barrier(): Promise<void>;
  allReduce(values: Float64Array, op: 'sum' | 'mean' | 'max' | 'min'): Promise<Float64Array>;
  broadcastBytes(bytes: Uint8Array | null, root: number): Promise<Uint8Array>;
  destroy(): void;
}

export interface NativeDevice {
  index: number;
  name: string;
  sm: string;
  totalMemory: number;
  freeMemory: number;
}

export interface RuntimeInfo {
  torchVersion: string;
  numThreads: number;
  builtWithCuda: boolean;
  cudaAvailable: boolean;
  devices: NativeDevice[];
  cudaRuntimeVersion?: number;
  /** The highest CUDA version the installed driver supports (cudaDriverGetVersion: 1000·major + 10·minor). */
  cudaDriverVersion?: number;
  /** NCCL's version, in addons built with the NCCL backend. */
  ncclVersion?: string;
}

export interface NativeLinearPatternSpec {
  pattern: string;
  context: number;
  order?: number;
  window?: number;
}

/** The indirect retrieval model's native handle (native/bindings/retrieval_wrap.h). */
export interface NativeRetrievalModelConfig {
  kind?: string;
  dModel: number;
  nLayers: number;
  context: number;
  ffMultiplier?: number;
  seed?: number;
  device?: string;
  dtype?: string;
}

export interface NativeRetrievalModel {
  logits(inputs: Float32Array | Float64Array, batch: number): Promise<Float32Array | Float64Array>;
  evaluate(inputs: Float32Array | Float64Array, labels: Int32Array, batch: number, options?: { precision?: 'auto' | 'fp32' }): Promise<{ lossSum: number; correct: number; samples: number }>;
  lossGradients(inputs: Float32Array | Float64Array, labels: Int32Array, batch: number): Promise<{ loss: number; gradients: Record<string, NativeTensor>; inputsRequireGrad: boolean }>;
  stateDict(): Record<string, NativeTensor>;
  loadStateDict(tensors: Record<string, NativeTensor>): void;
  dispose(): void;
  readonly numParameters: number;
  readonly config: NativeRetrievalModelConfig;
}

export interface NativeRetrievalTrainer {
  step(inputs: Float32Array | Float64Array, labels: Int32Array, batch: number): Promise<{ step: number; learningRate: number; loss: number; gradNorm: number }>;
  learningRateAt(step: number): number;
  stateDict(): { step: number; tensors: Record<string, NativeTensor> };
  loadStateDict(state: { step: number; tensors: Record<string, NativeTensor> }): void;
  readonly stepsTaken: number;
  dispose(): void;
}

/** Everything the addon exports. */
export interface NativeAddon {
  Tensor: new (data: TypedArray, shape: number[], dtype?: DType) => NativeTensor;
  Trainer: new (model: NativeModel, config: NativeTrainConfig) => NativeTrainer;
  Decoder: new (model: NativeModel, options: { batch?: number; mode?: string; precision?: string; weights?: string }) => NativeDecoder;
  createModel(config: NativeModelConfig): Promise<NativeModel>;
  createRetrievalModel(config: NativeRetrievalModelConfig): Promise<NativeRetrievalModel>;
  RetrievalTrainer: new (model: NativeRetrievalModel, config: NativeTrainConfig) => NativeRetrievalTrainer;
  createProcessGroup(options: NativeProcessGroupOptions): Promise<NativeProcessGroup>;
  /** The c10d backends the addon was built with (absent from addons built before data parallelism). */
  distributedBackends?(): Array<'gloo' | 'nccl'>;
  maskedMixing(x: NativeTensor, weight: NativeTensor, bias: NativeTensor): NativeTensor;
  maskedMixingBackward(
    x: NativeTensor,
    weight: NativeTensor,
    bias: NativeTensor,
    gradOutput: NativeTensor,
  ): { x: NativeTensor; weight: NativeTensor; bias: NativeTensor };
  decayedScan(u: NativeTensor, logGamma: NativeTensor, init: NativeTensor | null, strategy?: string, chunk?: number): NativeTensor;
  decayedScanBackward(
    u: NativeTensor,
    logGamma: NativeTensor,
    init: NativeTensor | null,
    strategy: string,
    chunk: number,
    gradOutput: NativeTensor,
  ): { u: NativeTensor; logGamma: NativeTensor; init?: NativeTensor };
  repeatMixing(x: NativeTensor, weights: NativeRepeatWeights): NativeTensor;
  repeatMixingBackward(x: NativeTensor, weights: NativeRepeatWeights, gradOutput: NativeTensor): Record<string, NativeTensor>;
  /** Generalized linear mixing (native/ops/linear_pattern.h, linear_mixing.h); spec: { pattern, context, order?, window? }. */
  linearPatternReads?(spec: NativeLinearPatternSpec, position: number): { reads: number[]; retained: number[]; slots: number[]; lagsA: number };
  linearMixing?(
    x: NativeTensor,
    alpha: NativeTensor,
    beta: NativeTensor | null,
    bias: NativeTensor | null,
    spec: NativeLinearPatternSpec,
    solve?: 'auto' | 'dense' | 'chunked' | 'sequential',
    chunk?: number,
  ): NativeTensor;
  linearMixingBackward?(
    x: NativeTensor,
    alpha: NativeTensor,
    beta: NativeTensor | null,
    bias: NativeTensor | null,
    spec: NativeLinearPatternSpec,
    solve: 'auto' | 'dense' | 'chunked' | 'sequential',
    chunk: number,
    gradOutput: NativeTensor,
  ): Record<string, NativeTensor>;
  linearCrossEntropy(
    hidden: NativeTensor,
    weight: NativeTensor,
    targets: NativeTensor,
    ignoreIndex: number,
    chunkRows?: number,
  ): { loss: number; targets: number; gradHidden: NativeTensor; gradWeight: NativeTensor };
  /** The int8 copy of a matrix that decoders with weights 'int8' give the fused GPU kernels (native/decode/quantized_rows.h). */
  quantizeRows(weight: NativeTensor): { values: NativeTensor; scales: NativeTensor };
  /** A matrix's rows reordered as the decoding kernels' tensor-core products read them (decode/fragment_order.h). */
  fragmentOrder(matrix: NativeTensor): NativeTensor;
  /** One decoding GEMV kernel run alone, for GPU checks (decode/decode_gemv_probe.h). */
  probeDecodeGemv(weight: NativeTensor, input: NativeTensor, weights: 'float32' | 'bfloat16' | 'tensor-cores' | 'int8', layerNorm: boolean): NativeTensor;
  runtimeInfo(): RuntimeInfo;
  setNumThreads(threads: number): void;
  cudaMemory(device: number, options?: { resetPeak?: boolean }): { allocated: number; peakAllocated: number; reserved: number };
  synchronize(): void;
  setErrorClass(cls: new (code: string, message: string) => Error): void;
  addonVersion: string;
}

/** The package root (holds package.json), whether we run from lib/ (tsx, vitest) or dist/lib/ (compiled). */
/** CUDA devices this process can use (0 without CUDA), and why there are none when the addon has no CUDA. */
export function usableGpus(): { count: number; note: string } {
  const runtime = native().runtimeInfo();
  return { count: runtime.cudaAvailable ? runtime.devices.length : 0, note: runtime.builtWithCuda ? '' : ' (the addon was built without CUDA)' };
}

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new MaskmixError('INTERNAL', 'cannot find the maskmix package root');
    dir = parent;
  }
  return dir;
}

/** One place an addon was looked for, and what happened. */
export interface AddonAttempt {
  kind: 'explicit' | 'prebuild' | 'source';
  path: string;
  result: string;
}

/** How the addon in use was found. */
export interface LoadReport {
  kind: AddonAttempt['kind'];
  path: string;
  prebuildKey: string;
  libtorch: LibtorchInfo;
  attempts: AddonAttempt[];
}

/**
 * Where the addon may be, in the order tried: a source build (only there if someone ran `maskmix build` or
 * `npm run build`, so it is what they want), the shipped prebuild for this libtorch. MASKMIX_ADDON, when set, is
 * the only candidate: a missing or unloadable file named there fails instead of falling back to another addon.
 */
export function addonCandidates(key: string): Array<Omit<AddonAttempt, 'result'>> {
  const root = packageRoot();
  const list: Array<Omit<AddonAttempt, 'result'>> = [];
  if (process.env.MASKMIX_ADDON) return [{ kind: 'explicit', path: process.env.MASKMIX_ADDON }];
  list.push({ kind: 'source', path: join(root, 'build', 'Release', 'maskmix.node') });
  list.push({ kind: 'prebuild', path: join(prebuildDir(root, key), 'maskmix.node') });
  return list;
}

let loaded: NativeAddon | undefined;
let report: LoadReport | undefined;

/** How the loaded addon was found, once `native()` succeeded. */
export function loadReport(): LoadReport | undefined {
  return report;
}

/** Path of the addon file that was loaded, once `native()` succeeded. */
export function loadedAddonPath(): string | undefined {
  return report?.path;
}

function glibcVersion(): string | undefined {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime;
}

function unavailable(lines: string[], fix: string): MaskmixError {
  return new MaskmixError('NATIVE_UNAVAILABLE', `${lines.join('\n')}\nFix: ${fix}`);
}

/**
 * Loads the addon once and returns it. Finds libtorch (MASKMIX_LIBTORCH/LIBTORCH → python3's torch → the system),
 * picks the addon for it (MASKMIX_ADDON alone when set; otherwise a local source build, then the matching
 * prebuild), test-loads that in a child process, loads libtorch's libraries by absolute path and then the addon.
 * Never falls back silently: when nothing fits, throws NATIVE_UNAVAILABLE naming what was looked for, where, what
 * was found and the command that fixes it.
 */
export function native(): NativeAddon {
  if (loaded) return loaded;
  const torchAttempts: LibtorchAttempt[] = [];
  const torch = findLibtorch({ attempts: torchAttempts });
  if (!torch) {
    throw unavailable(
      [`maskmix needs libtorch and found none. Looked in:`, describeAttempts(torchAttempts)],
      'sudo apt-get install -y libtorch-dev libopenblas0-pthread (Debian/Ubuntu, CPU), or set MASKMIX_LIBTORCH to a libtorch folder (include/, lib/, share/cmake/Torch).',
    );
  }
  const key = prebuildKey(torch);
  const attempts: AddonAttempt[] = [];
  for (const candidate of addonCandidates(key)) {
    if (!existsSync(candidate.path)) {
      attempts.push({ ...candidate, result: candidate.kind === 'source' ? 'not built' : 'not present' });
      continue;
    }
    if (candidate.kind === 'prebuild') {
      const info = readPrebuildInfo(dirname(candidate.path));
      if (info && info.cxx11Abi !== torch.cxx11Abi) {
        attempts.push({ ...candidate, result: `built for C++11 ABI ${info.cxx11Abi}, libtorch uses ${torch.cxx11Abi}` });
        continue;
      }
    }
    const verdict = probeAddon(candidate.path, torch);
    if (!verdict.ok) {
      attempts.push({ ...candidate, result: `test load failed: ${verdict.error}` });
      continue;
    }
    const require = createRequire(import.meta.url);
    try {
      preloadLibraries(torch.libraries);
      const addon = require(candidate.path) as NativeAddon;
      addon.setErrorClass(MaskmixError as unknown as new (code: string, message: string) => Error);
      // libtorch's intra-op pool otherwise starts at whatever its OpenMP runtime guessed (1 on Debian's build).
      if (!process.env.OMP_NUM_THREADS) addon.setNumThreads(availableParallelism());
      attempts.push({ ...candidate, result: 'loaded' });
      loaded = addon;
      report = { kind: candidate.kind, path: candidate.path, prebuildKey: key, libtorch: torch, attempts };
      return addon;
    } catch (error) {
      attempts.push({ ...candidate, result: (error as Error).message.split('\n')[0] });
    }
  }
  const explicit = attempts.find((a) => a.kind === 'explicit');
  if (explicit) {
    throw unavailable(
      [`MASKMIX_ADDON=${explicit.path} does not load (${explicit.result}); while MASKMIX_ADDON is set no other addon is tried.`],
      'point MASKMIX_ADDON at a maskmix.node built for this libtorch, or unset it to use the source build or a prebuild.',
    );
  }
  const found = `found libtorch ${torch.version} (${torch.cuda ? `CUDA ${torch.cudaVersion ?? '?'}` : 'CPU'}, C++11 ABI ${torch.cxx11Abi}) via ${torch.source} at ${torch.root}; ${process.platform}-${process.arch}, glibc ${glibcVersion() ?? '?'}, Node ${process.version}`;
  throw unavailable(
    [
      `no maskmix addon loads with this libtorch. Looked for prebuild ${key} and a source build:`,
      ...attempts.map((a) => `  - ${a.kind} ${a.path}: ${a.result}`),
      found,
    ],
    `build the addon for this libtorch from source: npx maskmix build (needs cmake and a C++17 compiler), or point MASKMIX_LIBTORCH at a libtorch that has a prebuild (${knownPrebuilds().join(', ') || 'none shipped'}).`,
  );
}

/** Keys of the prebuilt addons this package ships. */
export function knownPrebuilds(): string[] {
  const dir = join(packageRoot(), 'prebuilds');
  return existsSync(dir) ? readdirSync(dir).filter((k) => existsSync(join(dir, k, 'maskmix.node'))) : [];
}
