/**
 * Checks that an experiment can start — its model config, device, data and tokenizer files — before anything is
 * written or trained, so a bad config fails in a second and leaves no half-made run folder behind (and a compare or
 * sweep fails before its first run rather than after it).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { documentFiles } from '../data/read-documents.js';
import { check, MaskmixError } from '../errors.js';
import { resolveModelConfig } from '../model-config.js';
import { usableGpus } from '../native.js';
import type { ExperimentConfig } from './experiment-config.js';

/** Stands in for the tokenizer's size where it is only known once the tokenizer is loaded or trained. */
const SOME_VOCAB_SIZE = 4096;

/** @throws MaskmixError CONFIG_INVALID / CUDA_UNAVAILABLE / NOT_FOUND naming what would make the run fail. */
export function checkExperimentCanStart(config: ExperimentConfig, options: { tokenizerGiven?: boolean } = {}): void {
  const vocabSize = 'vocabSize' in config.tokenizer ? config.tokenizer.vocabSize : SOME_VOCAB_SIZE;
  resolveModelConfig({ vocabSize, seed: config.seed, ...config.model, device: config.device });
  checkDevice(config.device);
  const data = config.data;
  if (data.source === 'files') documentFiles(data.paths);
  if (data.source === 'shards') {
    const tokenizer = join(data.dir, 'tokenizer.json');
    if (!existsSync(tokenizer)) throw new MaskmixError('NOT_FOUND', `data.dir ${data.dir} holds no tokenizer.json: not a folder of token shards (make one with maskmix tokenize)`);
  }
  if (!options.tokenizerGiven && data.source !== 'shards' && 'path' in config.tokenizer && !existsSync(config.tokenizer.path)) {
    throw new MaskmixError('NOT_FOUND', `tokenizer.path ${config.tokenizer.path} does not exist`);
  }
}

function checkDevice(device: string): void {
  if (device === 'cpu') return;
  const gpus = usableGpus();
  const index = device === 'cuda' ? 0 : Number(device.slice('cuda:'.length));
  check(index < gpus.count, `device ${device} was asked for but this machine has ${gpus.count} CUDA device(s)${gpus.note}`, 'CUDA_UNAVAILABLE');
}
