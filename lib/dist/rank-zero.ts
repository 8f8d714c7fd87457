/**
 * Rank-0-only side effects: in a data-parallel job every rank holds the same model, so logs and checkpoints come
 * from rank 0 alone, and the others wait at a barrier until a checkpoint is complete.
 */
import { mkdirSync } from 'node:fs';

import { saveModel } from '../checkpoint.js';
import type { LanguageModel } from '../model.js';
import { distributedEnv } from './env.js';
import type { ProcessGroup } from './process-group.js';

/** True on rank 0, and in a process that was not launched as part of a job. */
export function isRankZero(): boolean {
  return distributedEnv().rank === 0;
}

/** Writes a line to stderr on rank 0 only. */
export function logOnRankZero(message: string): void {
  if (isRankZero()) process.stderr.write(`${message}\n`);
}

/**
 * Runs `fn` on rank 0 only, then waits at a barrier so no rank goes on before rank 0 is done (e.g. before a
 * checkpoint it might read is complete). Returns fn's result on rank 0, undefined elsewhere.
 */
export async function onRankZero<T>(group: ProcessGroup | undefined, fn: () => T | Promise<T>): Promise<T | undefined> {
  const rank = group?.rank ?? distributedEnv().rank;
  const result = rank === 0 ? await fn() : undefined;
  await group?.barrier();
  return result;
}

/** saveModel on rank 0 only (config.json + model.safetensors, into `dir`, created if missing), then a barrier. */
export async function saveModelOnRankZero(model: LanguageModel, dir: string, group: ProcessGroup | undefined): Promise<void> {
  await onRankZero(group, () => {
    mkdirSync(dir, { recursive: true });
    return saveModel(model, dir);
  });
}
