/**
 * metrics.jsonl keeps one line per step. Two moments would otherwise repeat a step: the final evaluation of a run
 * stopped early (its valLoss belongs on the last step's line) and a resume from a checkpoint older than the last
 * line written (the steps after the checkpoint are trained again). Both rewrite the file atomically, so a crash
 * leaves either the old file or the new one.
 */
import { existsSync, readFileSync } from 'node:fs';

import { writeFileAtomic } from './atomic-file.js';

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((line) => line.length > 0);
}

/** Whether a line stays when the steps after `lastStep` go: lines without a step stay, unreadable ones go. */
function keptUpTo(line: string, lastStep: number): boolean {
  try {
    const step = (JSON.parse(line) as { step?: unknown }).step;
    return typeof step !== 'number' || step <= lastStep;
  } catch {
    return false; // a line cut short by a crash: the next line appended would run into it
  }
}

/** Drops the lines of steps after `lastStep` (and unreadable lines); a missing file stays missing. */
export async function dropMetricsAfter(path: string, lastStep: number): Promise<void> {
  if (!existsSync(path)) return;
  const all = lines(path);
  const kept = all.filter((line) => keptUpTo(line, lastStep));
  if (kept.length < all.length) await writeFileAtomic(path, kept.map((line) => `${line}\n`).join(''));
}

/** Replaces the file's last line with `record` (appends it to an empty or missing file). */
export async function replaceLastMetricsLine(path: string, record: object): Promise<void> {
  const all = existsSync(path) ? lines(path) : [];
  all.splice(Math.max(0, all.length - 1), all.length > 0 ? 1 : 0, JSON.stringify(record));
  await writeFileAtomic(path, all.map((line) => `${line}\n`).join(''));
}

/**
 * What a finished run's summary reports from its metrics: the mean training loss over the last tenth of the step
 * lines (at least one), as the training loop computes it, and the last line's tokens per second; NaN where absent.
 */
export function metricsTail(path: string): { trainLoss: number; tokensPerSecond: number } {
  const records = existsSync(path)
    ? lines(path).flatMap((line) => {
        try {
          const r = JSON.parse(line) as { step?: unknown; loss?: unknown; tokensPerSecond?: unknown };
          return typeof r.step === 'number' ? [r] : [];
        } catch {
          return [];
        }
      })
    : [];
  const losses = records.map((r) => (typeof r.loss === 'number' ? r.loss : Number.NaN));
  const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 10)));
  const last = records.at(-1)?.tokensPerSecond;
  return {
    trainLoss: tail.length > 0 ? tail.reduce((a, b) => a + b, 0) / tail.length : Number.NaN,
    tokensPerSecond: typeof last === 'number' ? last : Number.NaN,
  };
}
