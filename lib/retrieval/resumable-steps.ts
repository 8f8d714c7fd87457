/**
 * The training loop both retrieval trainers share (InfoNCE fine-tuning of a language model, the indirect
 * retrieval model): steps with checkpoints every k steps, after the last step and when stopped, and a resume
 * from one. Checkpoints are the experiment runner's (lib/experiment/training-checkpoint.ts: weights, AdamW
 * moments, step — which fixes the learning-rate schedule — and data position, swapped in atomically), so a
 * stopped run resumed gets the batches and updates an uninterrupted one would have.
 */
import { mkdirSync } from 'node:fs';

import { check, MaskmixError } from '../errors.js';
import { loadTrainingCheckpoint, saveTrainingCheckpoint, type CheckpointModel, type CheckpointTrainer } from '../experiment/training-checkpoint.js';

export interface RetrievalCheckpointOptions {
  /** The run's output folder (made if missing): its checkpoint goes to `<dir>/checkpoint/`. */
  dir: string;
  /** Also write one every this many steps (default 0: only after the last step and when stopped). */
  every?: number;
  /** Continue from `dir`'s checkpoint instead of from step 0. */
  resume?: boolean;
  /** The caller's own JSON state, saved with every checkpoint (results so far, say). */
  notes?: () => unknown;
  /** Called on a resume, before any step, with the step reached, the saved `notes` and the training time so far. */
  onResume?: (step: number, notes: unknown, time: TrainingTime) => void;
}

/** Training time of a resumed run before this session: what its last checkpoint counted over all sessions. */
export interface TrainingTime {
  /** Seconds of training in all earlier sessions, up to the checkpoint resumed from. */
  elapsedSeconds: number;
  /** Earlier sessions that wrote a checkpoint (1 for a checkpoint written before sessions were counted). */
  sessions: number;
}

/** Where a retrieval run's data stands: every step reads one batch. */
interface RetrievalPosition {
  batches: number;
}

/** What the loop itself keeps in a checkpoint's notes besides the caller's. */
interface LoopNotes {
  losses: number[];
  caller: unknown;
  /** Sessions that trained this run so far, this one included (absent in older checkpoints: 1). */
  sessions?: number;
}

export interface ResumableStepsOptions<Batch> {
  model: CheckpointModel;
  trainer: CheckpointTrainer;
  steps: number;
  /** Batches from the one with this 0-based index on (a resume starts past the batches already trained on). */
  batches: (start: number) => Iterator<Batch>;
  /** One optimizer step on a batch; returns its loss. */
  step: (batch: Batch) => Promise<number>;
  onStep?: (step: number, loss: number) => void | Promise<void>;
  checkpoint?: RetrievalCheckpointOptions;
  /** Once aborted, the loop stops after the current step (writing a checkpoint first, if it keeps them). */
  signal?: AbortSignal;
}

/**
 * Runs up to `steps` steps; returns the loss of every step taken, the resumed ones' included (fewer than `steps`
 * when stopped by `signal`). @throws MaskmixError NOT_FOUND / CHECKPOINT_INVALID for a resume without a usable
 * checkpoint (nothing on disk is changed), NON_FINITE from a step (the last checkpoint stays as it was).
 */
export async function resumableSteps<Batch>(options: ResumableStepsOptions<Batch>): Promise<number[]> {
  const { model, trainer, steps, checkpoint } = options;
  const every = checkpoint?.every ?? 0;
  check(Number.isInteger(every) && every >= 0, `checkpoint.every must be a non-negative integer, got ${every}`);
  let losses: number[] = [];
  let elapsedBefore = 0;
  let sessionsBefore = 0;
  if (checkpoint?.resume) {
    const saved = await loadTrainingCheckpoint(checkpoint.dir, model, trainer);
    const position = saved.dataPosition as Partial<RetrievalPosition> | undefined;
    const notes = saved.notes as Partial<LoopNotes> | undefined;
    if (position?.batches !== saved.step || !Array.isArray(notes?.losses) || notes.losses.length !== saved.step) {
      throw new MaskmixError('CHECKPOINT_INVALID', `${checkpoint.dir}'s checkpoint is not a retrieval run's (its data position or losses do not match step ${saved.step})`);
    }
    if (saved.step > steps) throw new MaskmixError('CHECKPOINT_INVALID', `${checkpoint.dir}'s checkpoint is at step ${saved.step}, past this run's ${steps} steps`);
    losses = notes.losses;
    elapsedBefore = saved.elapsedSeconds;
    sessionsBefore = Number.isInteger(notes.sessions) && notes.sessions! >= 1 ? notes.sessions! : 1;
    checkpoint.onResume?.(saved.step, notes.caller, { elapsedSeconds: elapsedBefore, sessions: sessionsBefore });
  }
  const started = performance.now();
  const save = async () => {
    if (!checkpoint) return;
    mkdirSync(checkpoint.dir, { recursive: true });
    const notes: LoopNotes = { losses, caller: checkpoint.notes?.(), sessions: sessionsBefore + 1 };
    const position: RetrievalPosition = { batches: losses.length };
    await saveTrainingCheckpoint(checkpoint.dir, model, trainer, {
      step: losses.length,
      tokensSeen: 0, // a retrieval run counts steps (one batch each), not tokens
      elapsedSeconds: elapsedBefore + (performance.now() - started) / 1000,
      dataPosition: position,
      notes,
    });
  };
  const batches = options.batches(losses.length);
  while (losses.length < steps) {
    if (options.signal?.aborted) {
      await save();
      return losses;
    }
    const next = batches.next();
    check(!next.done, 'the batch source ran out before the last step');
    const loss = await options.step(next.value);
    losses.push(loss);
    await options.onStep?.(losses.length, loss);
    if (every > 0 && losses.length % every === 0 && losses.length < steps) await save();
  }
  await save();
  return losses;
}
