/**
 * Resumable checkpoints of a run: weights, optimizer moments and the loop's counters (step, tokens, wall time,
 * data position) in `<run>/checkpoint/`. A checkpoint is written whole into a fresh folder and then swapped in by
 * renames, so a crash at any moment leaves the previous checkpoint (or the new one) complete and loadable.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { readWeights, saveWeights } from '../checkpoint.js';
import { MaskmixError } from '../errors.js';
import { writeJsonAtomic } from '../io/atomic-file.js';
import { readSafetensors, writeSafetensors, type SafetensorsTensorInput } from '../io/safetensors.js';
import type { LanguageModel } from '../model.js';
import { Tensor } from '../tensor.js';
import type { Trainer } from '../trainer.js';

/** The loop's counters a resume needs, besides weights and optimizer state. */
export interface LoopState {
  step: number;
  tokensSeen: number;
  elapsedSeconds: number;
  /** The batch source's position (BatchIterator or shard loader), as it reports it. */
  dataPosition: unknown;
}

const CHECKPOINT = 'checkpoint';

/** Writes a checkpoint of the run; the previous one is replaced only once the new one is complete. */
export async function saveTrainingCheckpoint(runDir: string, model: LanguageModel, trainer: Trainer, loop: LoopState): Promise<void> {
  const fresh = join(runDir, `${CHECKPOINT}.new-${process.pid}`);
  rmSync(fresh, { recursive: true, force: true });
  mkdirSync(fresh);
  await saveWeights(model, join(fresh, 'model.safetensors'));
  const state = trainer.stateDict();
  const tensors: Record<string, SafetensorsTensorInput> = {};
  for (const [name, t] of Object.entries(state.tensors)) tensors[name] = { dtype: 'F32', shape: t.shape, data: t.to({ dtype: 'float32' }).toTypedArray() };
  await writeSafetensors(join(fresh, 'optimizer.safetensors'), tensors);
  await writeJsonAtomic(join(fresh, 'state.json'), { ...loop, optimizerStep: state.step });
  // Swap: current → old, fresh → current, drop old. Between the renames both complete copies exist on disk.
  const current = join(runDir, CHECKPOINT);
  const old = join(runDir, `${CHECKPOINT}.old-${process.pid}`);
  if (existsSync(current)) renameSync(current, old);
  renameSync(fresh, current);
  rmSync(old, { recursive: true, force: true });
}

/** The checkpoint folder to resume from: `checkpoint/`, or an `.old-*` copy a crash left between the renames. */
export function findCheckpoint(runDir: string): string | undefined {
  const current = join(runDir, CHECKPOINT);
  if (existsSync(join(current, 'state.json'))) return current;
  const old = existsSync(runDir) ? readdirSync(runDir).find((f) => f.startsWith(`${CHECKPOINT}.old-`)) : undefined;
  return old && existsSync(join(runDir, old, 'state.json')) ? join(runDir, old) : undefined;
}

/** Restores weights and optimizer state into `model` and `trainer`; returns the loop's counters. */
export async function loadTrainingCheckpoint(runDir: string, model: LanguageModel, trainer: Trainer): Promise<LoopState> {
  const dir = findCheckpoint(runDir);
  if (!dir) throw new MaskmixError('NOT_FOUND', `${runDir} has no checkpoint to resume from`);
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as LoopState & { optimizerStep: number };
  const weights = await readWeights(join(dir, 'model.safetensors'));
  model.loadStateDict(weights);
  const file = await readSafetensors(join(dir, 'optimizer.safetensors'));
  const moments: Record<string, Tensor> = {};
  for (const [name, t] of file.tensors) moments[name] = Tensor.from(t.data, t.shape);
  trainer.loadStateDict({ step: state.optimizerStep, tensors: moments });
  for (const t of [...Object.values(weights), ...Object.values(moments)]) t.dispose();
  return { step: state.step, tokensSeen: state.tokensSeen, elapsedSeconds: state.elapsedSeconds, dataPosition: state.dataPosition };
}
