/**
 * The one place that loads the native addon. Everything else imports `native()` from here, so loading (and the
 * message when it fails) is decided once. The addon is loaded lazily: `maskmix doctor` and `--help` work even
 * when libtorch is missing.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { MaskmixError } from './errors.js';
import type { DType, TypedArray } from './tensor-types.js';

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
  nHeads?: number;
  intermediateSize?: number;
  ropeTheta?: number;
  normEps?: number;
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
  lossGradients(tokens: Int32Array, batch: number): Promise<{ loss: number; gradients: Record<string, NativeTensor> }>;
  nextToken(tokens: Int32Array, options: NativeSampling): Promise<{ token: number; logProb: number }>;
  stateDict(): Record<string, NativeTensor>;
  loadStateDict(tensors: Record<string, NativeTensor>): void;
  dispose(): void;
  readonly numParameters: number;
  readonly config: NativeModelConfig;
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
}

export interface NativeStepResult {
  step: number;
  learningRate: number;
  /** The rest is present when the step read its results back from the device (always on the CPU). */
  loss?: number;
  lastLoss?: number;
  gradNorm?: number;
  stepsInMean?: number;
  /** Device time of each of those steps, in order (CUDA events on a GPU, host clock on the CPU). */
  deviceMilliseconds?: number[];
}

export interface NativeTrainer {
  step(tokens: Int32Array, batch: number, options?: { readBack?: boolean }): Promise<NativeStepResult>;
  learningRateAt(step: number): number;
  profile(tokens: Int32Array, batch: number, steps: number, path: string): Promise<void>;
  readonly stepsTaken: number;
  dispose(): void;
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
  cudaDriverVersion?: number;
}

/** Everything the addon exports. */
export interface NativeAddon {
  Tensor: new (data: TypedArray, shape: number[], dtype?: DType) => NativeTensor;
  Trainer: new (model: NativeModel, config: NativeTrainConfig) => NativeTrainer;
  createModel(config: NativeModelConfig): Promise<NativeModel>;
  maskedMixing(x: NativeTensor, weight: NativeTensor, bias: NativeTensor): NativeTensor;
  maskedMixingBackward(
    x: NativeTensor,
    weight: NativeTensor,
    bias: NativeTensor,
    gradOutput: NativeTensor,
  ): { x: NativeTensor; weight: NativeTensor; bias: NativeTensor };
  linearCrossEntropy(
    hidden: NativeTensor,
    weight: NativeTensor,
    targets: NativeTensor,
    ignoreIndex: number,
    chunkRows?: number,
  ): { loss: number; targets: number; gradHidden: NativeTensor; gradWeight: NativeTensor };
  runtimeInfo(): RuntimeInfo;
  setNumThreads(threads: number): void;
  cudaMemory(device: number, options?: { resetPeak?: boolean }): { allocated: number; peakAllocated: number; reserved: number };
  synchronize(): void;
  setErrorClass(cls: new (code: string, message: string) => Error): void;
  addonVersion: string;
}

/** The package root (holds package.json), whether we run from lib/ (tsx, vitest) or dist/lib/ (compiled). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new MaskmixError('INTERNAL', 'cannot find the maskmix package root');
    dir = parent;
  }
  return dir;
}

/** Where the addon may be, in the order tried: an explicit MASKMIX_ADDON, then the local source build. */
export function addonCandidates(): string[] {
  const root = packageRoot();
  const list = [];
  if (process.env.MASKMIX_ADDON) list.push(process.env.MASKMIX_ADDON);
  list.push(join(root, 'build', 'Release', 'maskmix.node'));
  return list;
}

let loaded: NativeAddon | undefined;
let loadedPath: string | undefined;

/** Path of the addon file that was loaded, once `native()` succeeded. */
export function loadedAddonPath(): string | undefined {
  return loadedPath;
}

/** Loads the addon once and returns it; throws NATIVE_UNAVAILABLE naming every place tried and why. */
export function native(): NativeAddon {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const candidate of addonCandidates()) {
    if (!existsSync(candidate)) {
      failures.push(`  - ${candidate}: not built`);
      continue;
    }
    try {
      const addon = require(candidate) as NativeAddon;
      addon.setErrorClass(MaskmixError as unknown as new (code: string, message: string) => Error);
      // libtorch's intra-op pool otherwise starts at whatever its OpenMP runtime guessed (1 on Debian's build).
      if (!process.env.OMP_NUM_THREADS) addon.setNumThreads(availableParallelism());
      loaded = addon;
      loadedPath = candidate;
      return addon;
    } catch (error) {
      failures.push(`  - ${candidate}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new MaskmixError(
    'NATIVE_UNAVAILABLE',
    `the maskmix native addon could not be loaded. Tried:\n${failures.join('\n')}\n` +
      'Fix: install libtorch (apt-get install libtorch-dev libopenblas0-pthread) and run `npm run build` ' +
      '(or `maskmix doctor` to see what was found).',
  );
}
