/**
 * Run directories: one folder per run holding config.json, model.safetensors, tokenizer.json, metrics.jsonl and
 * run.json (how the run was made: options, versions, git commit, machine).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
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
