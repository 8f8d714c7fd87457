/**
 * How `maskmix launch` runs the command after `--` in each rank: a TypeScript script through the tsx loader, a
 * JavaScript script or `maskmix …` with plain Node, anything else as given. Node commands also load the rank
 * bootstrap (heartbeats to the launcher, exit when the launcher is gone); other commands run without it.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { MaskmixError, check } from '../errors.js';
import { packageRoot } from '../native.js';

/** A rank's process: executable, arguments, and whether it loads the rank bootstrap (and so talks over IPC). */
export interface RankCommand {
  file: string;
  args: string[];
  bootstrapped: boolean;
}

const TS = /\.(ts|mts|cts)$/;
const JS = /\.(js|mjs|cjs)$/;

function tsxLoader(): string {
  try {
    return import.meta.resolve('tsx');
  } catch {
    throw new MaskmixError(
      'NOT_FOUND',
      'running a TypeScript script needs the tsx loader: npm install --save-dev tsx (or compile the script and launch the .js)',
    );
  }
}

/** `--import` flags that load the bootstrap; from the sources (tests) that also needs tsx. */
function bootstrapFlags(withTsx: boolean): string[] {
  const compiled = fileURLToPath(new URL('./rank-bootstrap.js', import.meta.url));
  if (existsSync(compiled)) return [...(withTsx ? ['--import', tsxLoader()] : []), '--import', new URL('./rank-bootstrap.js', import.meta.url).href];
  const source = fileURLToPath(new URL('./rank-bootstrap.ts', import.meta.url));
  return ['--import', tsxLoader(), '--import', pathToFileURL(source).href];
}

/**
 * Turns the words after `--` into the process each rank runs. `searchPath` is the PATH the ranks are spawned
 * with (launch's env merged over process.env), where spawn will look a bare command name up.
 * @throws MaskmixError INVALID_ARGUMENT when the script or executable does not exist: checked here, once, rather
 *   than by every rank failing with its own stack trace.
 */
export function resolveRankCommand(command: readonly string[], searchPath: string | undefined = process.env.PATH): RankCommand {
  check(command.length > 0, 'no command to launch: put it after --, e.g. maskmix launch --nproc-per-node 2 -- train.ts');
  const [first, ...rest] = command as [string, ...string[]];
  const node = process.execPath;
  if (first === 'maskmix') {
    return { file: node, args: [...bootstrapFlags(false), join(packageRoot(), 'bin', 'maskmix.js'), ...rest], bootstrapped: true };
  }
  if (first === 'node' || first === process.execPath) {
    const script = rest.find((a) => !a.startsWith('-'));
    if (script !== undefined && (TS.test(script) || JS.test(script))) requireScript(script);
    return { file: node, args: [...bootstrapFlags(script !== undefined && TS.test(script)), ...rest], bootstrapped: true };
  }
  if (TS.test(first) || JS.test(first)) requireScript(first);
  if (TS.test(first)) return { file: node, args: [...bootstrapFlags(true), first, ...rest], bootstrapped: true };
  if (JS.test(first)) return { file: node, args: [...bootstrapFlags(false), first, ...rest], bootstrapped: true };
  requireExecutable(first, searchPath);
  return { file: first, args: rest, bootstrapped: false };
}

function requireScript(script: string): void {
  check(existsSync(script), `the script ${script} does not exist (relative paths start at ${process.cwd()})`);
}

/** A path must exist; a bare name must be on the ranks' PATH, as spawn would look it up. */
function requireExecutable(name: string, searchPath: string | undefined): void {
  if (name.includes('/') || name.includes('\\')) {
    check(existsSync(name), `the command ${name} does not exist`);
    return;
  }
  const dirs = (searchPath ?? '').split(delimiter).filter(Boolean);
  check(dirs.some((dir) => existsSync(join(dir, name))), `${name} is neither a script (.ts, .js) nor a command on PATH, nor 'maskmix'`);
}
