/**
 * Run directories: one folder per run holding config.json, model.safetensors, tokenizer.json, metrics.jsonl and
 * run.json (how the run was made: options, versions, git commit, machine).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

import { MaskmixError } from './errors.js';
import { native, packageRoot } from './native.js';

/**
 * Creates a fresh run directory. With `unique`, an existing non-empty `dir` is left alone and `dir-1`, `dir-2`, …
 * is used instead; without it, a non-empty `dir` is an error (so no earlier run is overwritten).
 */
export function createRunDir(dir: string, options: { unique?: boolean } = {}): string {
  return makeRunDir(dir, options).dir;
}

/** {@link createRunDir}, also saying whether the folder was made now (false: it existed, empty). */
export function makeRunDir(dir: string, options: { unique?: boolean } = {}): { dir: string; created: boolean } {
  let candidate = dir;
  for (let i = 1; isNonEmptyDir(candidate); i++) {
    if (!options.unique) {
      throw new MaskmixError('INVALID_ARGUMENT', `${dir} already holds files; choose another --out (runs are never overwritten)`);
    }
    candidate = `${dir}-${i}`;
  }
  const created = !existsSync(candidate);
  mkdirSync(candidate, { recursive: true });
  return { dir: candidate, created };
}

/**
 * Undoes the start of a run that failed before training: removes the files a start writes (tokenizer.json,
 * run.json), and the folder when this start made it (`created` from {@link makeRunDir}) and nothing else is in it,
 * so a retry with the same --out finds no half-made run.
 */
export function abandonRunStart(runDir: string, created: boolean): void {
  for (const file of ['tokenizer.json', 'run.json']) rmSync(join(runDir, file), { force: true });
  if (created && existsSync(runDir) && readdirSync(runDir).length === 0) rmdirSync(runDir);
}

/**
 * The start of a run — data, tokenizer, model, run.json — up to its first training step. A start that fails, or is
 * stopped (Ctrl-C) before that step is done, keeps nothing: the native objects it made are freed, and the files it
 * wrote removed with the folder if this run made it ({@link abandonRunStart}), so a retry finds no half-made run.
 * `made` is the folder from {@link makeRunDir}, or undefined on a process that writes no folder (ranks but 0).
 */
export class RunStart {
  private readonly owned: { dispose(): void }[] = [];
  private abandoned = false;

  constructor(
    private readonly made: { dir: string; created: boolean } | undefined,
    private readonly signal?: AbortSignal,
  ) {}

  /** Registers something to free if the start is abandoned, and returns it. */
  own<T extends { dispose(): void }>(value: T): T {
    this.owned.push(value);
    return value;
  }

  /** Between phases of the start: a stop asked for so far abandons it (MaskmixError ABORTED). */
  checkNotAborted(): void {
    if (!this.signal?.aborted) return;
    this.abandon();
    throw new MaskmixError('ABORTED', 'stopped before training began; nothing was kept');
  }

  /** Runs the start's set-up; a failure abandons it. */
  async setUp<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const value = await fn();
      this.checkNotAborted();
      return value;
    } catch (error) {
      this.abandon();
      throw error;
    }
  }

  /** Runs the training: a failure or a stop before its first step (stepsTaken() still 0) abandons the start too. */
  async train<R>(fn: () => Promise<R>, stepsTaken: () => number): Promise<R> {
    let result: R;
    try {
      result = await fn();
    } catch (error) {
      if (stepsTaken() === 0) this.abandon();
      throw error;
    }
    if (stepsTaken() === 0) this.checkNotAborted();
    return result;
  }

  /** Frees what was owned (newest first) and removes what was written; once. */
  abandon(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    for (const value of this.owned.reverse()) {
      try {
        value.dispose();
      } catch {
        // already disposed, or busy with the call that failed: the garbage collector frees it
      }
    }
    if (this.made) abandonRunStart(this.made.dir, this.made.created);
  }
}

function isNonEmptyDir(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).length > 0;
}

/** The git commit of the working directory, when it is a repository. */
function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Versions and machine facts recorded with every run. */
export function runEnvironment(): Record<string, unknown> {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  const runtime = native().runtimeInfo();
  return {
    maskmixVersion: pkg.version,
    node: process.version,
    torch: runtime.torchVersion,
    threads: runtime.numThreads,
    cpu: cpus()[0]?.model,
    cpuCount: cpus().length,
    memoryBytes: totalmem(),
    gpus: runtime.devices.map((d) => d.name),
    gitCommit: gitCommit(),
    startedAt: new Date().toISOString(),
  };
}
