/**
 * `--resume <dir>` of the retrieval training commands: a run writes the settings it started with into its output
 * folder before training, so a resume rebuilds the same run (data, model, schedule) from that folder alone, as
 * `maskmix train --resume` does from run.json. The training state itself is the folder's checkpoint/.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { requireDirectory } from '../checkpoint.js';
import { MaskmixError } from '../errors.js';
import { findCheckpoint } from '../experiment/training-checkpoint.js';
import { writeJsonAtomic } from '../io/atomic-file.js';
import type { TrainingTime } from '../retrieval/resumable-steps.js';
import { log } from './output.js';

export const TRAIN_SETTINGS_FILE = 'train-settings.json';
/** A checkpoint being written (lib/experiment/training-checkpoint.ts): a crash can leave one behind, incomplete. */
const PARTIAL_CHECKPOINT_PREFIX = 'checkpoint.new-';

export interface TrainSettings<Options> {
  /** The command that made the run, e.g. 'retrieval train'. */
  command: string;
  /** The run directory it started from (the language model). */
  from: string;
  /** Its parsed flags. */
  options: Options;
}

/**
 * Options worth keeping: all but how this one invocation prints and where it writes. A `data` path is kept
 * absolute, so a resume from another working directory reads the same file.
 */
export function settingsOf<Options extends Record<string, unknown>>(opts: Options): Partial<Options> {
  const { json: _json, resume: _resume, out: _out, ...kept } = opts;
  if (typeof kept.data === 'string') (kept as Record<string, unknown>).data = resolve(kept.data);
  return kept as Partial<Options>;
}

export async function writeTrainSettings<Options>(dir: string, settings: TrainSettings<Options>): Promise<void> {
  await writeJsonAtomic(join(dir, TRAIN_SETTINGS_FILE), { ...settings, from: resolve(settings.from) });
}

/** A stopped run's settings, and whether it reached a checkpoint (else it starts over from step 0). */
export type StoppedRun<Options> = TrainSettings<Options> & { checkpointed: boolean };

/**
 * The settings of a stopped run of `command` in `dir`, checked to be resumable: from its checkpoint, or — a run
 * killed before its first one — from step 0, when the folder holds nothing that training could overwrite (only
 * the settings and partial checkpoints a crash left: they hold no finished checkpoint, and a later checkpoint
 * write of the same process id may replace one). Reads only.
 * @throws MaskmixError NOT_FOUND (no such folder, no settings), CHECKPOINT_INVALID (damaged, made by another
 * command, or other files but no checkpoint)
 */
export async function readTrainSettings<Options>(dir: string, command: string): Promise<StoppedRun<Options>> {
  requireDirectory(dir);
  const path = join(dir, TRAIN_SETTINGS_FILE);
  if (!existsSync(path)) throw new MaskmixError('NOT_FOUND', `${dir} has no ${TRAIN_SETTINGS_FILE}: not an output folder of maskmix ${command}`);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new MaskmixError('CHECKPOINT_INVALID', `${path} is not valid JSON: ${(error as Error).message}`);
  }
  const settings = raw as Partial<TrainSettings<Options>> | null;
  if (typeof settings?.command !== 'string' || typeof settings.from !== 'string' || typeof settings.options !== 'object' || settings.options === null) {
    throw new MaskmixError('CHECKPOINT_INVALID', `${path} is not valid: it needs "command", "from" and "options"`);
  }
  if (settings.command !== command) throw new MaskmixError('CHECKPOINT_INVALID', `${dir} was made by maskmix ${settings.command}, not maskmix ${command}: resume it with that command`);
  if (findCheckpoint(dir)) return { ...(settings as TrainSettings<Options>), checkpointed: true };
  // No checkpoint yet: starting over writes checkpoint/ and the results, so anything else there is left alone.
  const others = readdirSync(dir).filter((f) => f !== TRAIN_SETTINGS_FILE && !f.startsWith(PARTIAL_CHECKPOINT_PREFIX));
  if (others.length > 0) {
    throw new MaskmixError('CHECKPOINT_INVALID', `${dir} has no complete checkpoint but holds ${others.map((f) => `'${f}'`).join(', ')}: not starting it over, which could overwrite them`);
  }
  return { ...(settings as TrainSettings<Options>), checkpointed: false };
}

/** How a retrieval run's training time is reported: the total over all its sessions, a resume's included. */
export function totalTrainTimeText(seconds: number, sessions: number): string {
  return `${seconds.toFixed(0)} s total training time${sessions > 1 ? ` over ${sessions} sessions` : ''}`;
}

/**
 * A resumable run's training time over all its sessions: started when made, `resumed` takes what the resumed
 * checkpoint counted (the `onResume` time), `total` adds this session's so far — unless this session trained no
 * step (a resume of a checkpoint that had already reached its last step), which then counts neither time nor a
 * session. `resumed` also logs the resume.
 */
export function trainingClock(outDir: string) {
  const started = performance.now();
  let previous: TrainingTime = { elapsedSeconds: 0, sessions: 0 };
  let resumedAt = 0;
  return {
    resumed(step: number, time: TrainingTime): void {
      previous = time;
      resumedAt = step;
      log(`[resume] ${outDir} from step ${step} (${totalTrainTimeText(time.elapsedSeconds, time.sessions)} so far)`);
    },
    /** `finalStep`: the step training ended at in this session. */
    total(finalStep: number): { trainSeconds: number; trainSessions: number } {
      if (finalStep <= resumedAt && previous.sessions > 0) return { trainSeconds: previous.elapsedSeconds, trainSessions: previous.sessions };
      return { trainSeconds: previous.elapsedSeconds + (performance.now() - started) / 1000, trainSessions: previous.sessions + 1 };
    },
  };
}

/** Says that a resumed run had no checkpoint yet and trains from step 0 (readTrainSettings' `checkpointed` false). */
export function logStartOver(outDir: string): void {
  log(`[resume] ${outDir} has no checkpoint yet (stopped before its first): training it from step 0 with its saved settings`);
}
