/** The training workloads of SPEC §7, as `maskmix bench` runs them. */
import type { ModelConfigInput } from '../model-config.js';

export interface TrainWorkload {
  name: string;
  model: ModelConfigInput;
  batch: number;
}

const V = 8000;

export const SPEC_WORKLOADS: TrainWorkload[] = [
  { name: 'mixer-d1024-L8-n512-b32', model: { kind: 'mixer', vocabSize: V, dModel: 1024, nLayers: 8, context: 512 }, batch: 32 },
  { name: 'mixer-d1024-L16-n512-b32', model: { kind: 'mixer', vocabSize: V, dModel: 1024, nLayers: 16, context: 512 }, batch: 32 },
  { name: 'llama-d512-L16-h4-n512-b32', model: { kind: 'llama', vocabSize: V, dModel: 512, nLayers: 16, nHeads: 4, context: 512 }, batch: 32 },
  { name: 'mixer-d1024-L16-n1024-b16', model: { kind: 'mixer', vocabSize: V, dModel: 1024, nLayers: 16, context: 1024 }, batch: 16 },
];

/** A small workload that runs anywhere in seconds (CPU smoke runs of the bench itself). */
export const TINY_WORKLOAD: TrainWorkload = {
  name: 'mixer-d64-L2-n64-b4',
  model: { kind: 'mixer', vocabSize: 512, dModel: 64, nLayers: 2, context: 64 },
  batch: 4,
};
