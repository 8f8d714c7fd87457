/**
 * Resumable checkpoints of a run: weights, optimizer moments and the loop's counters (step, tokens, wall time,
 * data position) in `<run>/checkpoint/`. A checkpoint is written whole into a fresh folder and then swapped in by
 * renames, so a crash at any moment leaves the previous checkpoint (or the new one) complete and loadable. Every
 * trainer uses this one format: the language-model Trainer and the indirect retrieval model's RetrievalTrainer.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { readWeights, saveWeights } from '../checkpoint.js';
import { MaskmixError } from '../errors.js';
import { writeJsonAtomic } from '../io/atomic-file.js';
import { readSafetensors, writeSafetensors, type SafetensorsTensorInput } from '../io/safetensors.js';
import { Tensor } from '../tensor.js';

/** The loop's counters a resume needs, besides weights and optimizer state. */
export interface LoopState {
  step: number;
  tokensSeen: number;
  elapsedSeconds: number;
  /** The batch source's position (BatchIterator or shard loader), as it reports it. */
  dataPosition: unknown;
  /** The caller's own JSON state to carry across a resume (a retrieval run's losses so far, say). */
  notes?: unknown;
}

/** What a checkpoint holds of a model: its parameters by name (LanguageModel, RetrievalMixer). */
export interface CheckpointModel {
  stateDict(): Record<string, Tensor>;
  loadStateDict(tensors: Record<string, Tensor>): void;
}

/** What a checkpoint holds of a trainer: AdamW's moments by name and the steps taken (Trainer, RetrievalTrainer). */
export interface CheckpointTrainer {
  stateDict(): { step: number; tensors: Record<string, Tensor> };
  loadStateDict(state: { step: number; tensors: Record<string, Tensor> }): void;
}

const CHECKPOINT = 'checkpoint';

/** Writes a checkpoint of the run; the previous one is replaced only once the new one is complete. */
export async function saveTrainingCheckpoint(runDir: string, model: CheckpointModel, trainer: CheckpointTrainer, loop: LoopState): Promise<void> {
  const fresh = join(runDir, `${CHECKPOINT}.new-${process.pid}`);
  rmSync(fresh, { recursive: true, force: true });
  mkdirSync(fresh);
  await saveWeights(model, join(fresh, 'model.safetensors'));
  const state = trainer.stateDict();
  const tensors: Record<string, SafetensorsTensorInput> = {};
  // float64 moments (a float64 model's) stay float64, so a resume of an exact run is exact too; the rest as float32.
  for (const [name, t] of Object.entries(state.tensors)) {
    tensors[name] = t.dtype === 'float64' ? { dtype: 'F64', shape: t.shape, data: t.toTypedArray() } : { dtype: 'F32', shape: t.shape, data: t.to({ dtype: 'float32' }).toTypedArray() };
  }
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

/**
 * Restores weights and optimizer state into `model` and `trainer`; returns the loop's counters. Nothing on disk is
 * changed. @throws MaskmixError NOT_FOUND without a checkpoint, CHECKPOINT_INVALID for an unreadable one or one of
 * another model (names or shapes differ); the model and trainer are then not to be trained on.
 */
export async function loadTrainingCheckpoint(runDir: string, model: CheckpointModel, trainer: CheckpointTrainer): Promise<LoopState> {
  const dir = findCheckpoint(runDir);
  if (!dir) throw new MaskmixError('NOT_FOUND', `${runDir} has no checkpoint to resume from`);
  const state = readLoopState(join(dir, 'state.json'), await readFile(join(dir, 'state.json'), 'utf8'));
  const weights = await readWeights(join(dir, 'model.safetensors'));
  const file = await readSafetensors(join(dir, 'optimizer.safetensors'));
  const moments: Record<string, Tensor> = {};
  for (const [name, t] of file.tensors) moments[name] = Tensor.from(t.data, t.shape);
  try {
    model.loadStateDict(weights);
    trainer.loadStateDict({ step: state.optimizerStep, tensors: moments });
  } finally {
    for (const t of [...Object.values(weights), ...Object.values(moments)]) t.dispose();
  }
  return { step: state.step, tokensSeen: state.tokensSeen, elapsedSeconds: state.elapsedSeconds, dataPosition: state.dataPosition, notes: state.notes };
}

/** state.json's counters, checked: a damaged file is refused rather than resumed from a wrong position. */
function readLoopState(path: string, text: string): LoopState & { optimizerStep: number } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new MaskmixError('CHECKPOINT_INVALID', `${path} is not valid JSON: ${(error as Error).message}`);
  }
  const state = raw as Partial<LoopState & { optimizerStep: number }> | null;
  const count = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  if (!count(state?.step) || !count(state?.optimizerStep) || typeof state?.tokensSeen !== 'number' || typeof state.elapsedSeconds !== 'number') {
    throw new MaskmixError('CHECKPOINT_INVALID', `${path} is not a checkpoint state: it needs step, optimizerStep, tokensSeen and elapsedSeconds`);
  }
  return state as LoopState & { optimizerStep: number };
}
