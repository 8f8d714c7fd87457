/**
 * `--resume <dir>` of the retrieval training commands: a run writes the settings it started with into its output
 * folder before training, so a resume rebuilds the same run (data, model, schedule) from that folder alone, as
 * `maskmix train --resume` does from run.json. The training state itself is the folder's checkpoint/.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { requireDirectory } from '../checkpoint.js';
import { MaskmixError } from '../errors.js';
import { findCheckpoint } from '../experiment/training-checkpoint.js';
import { writeJsonAtomic } from '../io/atomic-file.js';

export const TRAIN_SETTINGS_FILE = 'train-settings.json';

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

/**
 * The settings of a stopped run of `command` in `dir`, checked to be resumable (a checkpoint is there). Reads only.
 * @throws MaskmixError NOT_FOUND (no such folder, no settings, no checkpoint), CHECKPOINT_INVALID (damaged, or
 * made by another command)
 */
export async function readTrainSettings<Options>(dir: string, command: string): Promise<TrainSettings<Options>> {
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
  if (!findCheckpoint(dir)) throw new MaskmixError('NOT_FOUND', `${dir} has no checkpoint to resume from`);
  return settings as TrainSettings<Options>;
}

/** How a retrieval run's training time is reported: the total over all its sessions, a resume's included. */
export function totalTrainTimeText(seconds: number, sessions: number): string {
  return `${seconds.toFixed(0)} s total training time${sessions > 1 ? ` over ${sessions} sessions` : ''}`;
}
