/**
 * What `maskmix quickstart` and `maskmix train` share: the sizes and settings of a masked mixer trained on the
 * embedded Brown corpus, with one set of defaults (a 4.3M-parameter model that trains in a few CPU minutes).
 */
export interface BrownRunOptions {
  /** Run directory (default per command, made unique if it already holds a run). */
  outDir?: string;
  steps?: number;
  dModel?: number;
  nLayers?: number;
  context?: number;
  /** Sequences per step (per rank under `maskmix launch`). */
  batchSize?: number;
  vocabSize?: number;
  learningRate?: number;
  seed?: number;
  /** Use only the first N Brown documents (of 500); for quick tests. */
  documents?: number;
  evalEvery?: number;
  /**
   * Stops training after the current step (the model trained so far is saved); stopped before the first step, the
   * run keeps nothing and fails with MaskmixError ABORTED.
   */
  signal?: AbortSignal;
}

export const BROWN_RUN_DEFAULTS = {
  steps: 400,
  dModel: 256,
  nLayers: 4,
  context: 128,
  batchSize: 16,
  vocabSize: 4096,
  learningRate: 2e-3,
  seed: 0,
  evalEvery: 100,
} as const;
