/**
 * How every command talks: results on stdout (JSON with --json), everything else (progress, logs) on stderr, and
 * failures as one line `maskmix: <reason>` with a non-zero exit — never a stack trace (MASKMIX_DEBUG=1 shows it).
 */
import { MaskmixError } from '../errors.js';

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Exit codes: 1 for a failure of the work, 2 for a bad command line, 130 (the shell's SIGINT code) for a Ctrl-C stop.
 * The rule that splits 1 from 2: INVALID_ARGUMENT and CONFIG_INVALID are what the caller typed or passed (flags,
 * a `--config` experiment file, API options), so exit 2. A file maskmix reads as data — a run or checkpoint folder's
 * config.json (CHECKPOINT_INVALID), a tokenizer.json (DATA_INVALID), shards, JSONL — that is corrupt or invalid is a
 * failure of the work, exit 1, and its message names the file.
 */
export function exitWithError(error: unknown): never {
  if (process.env.MASKMIX_DEBUG === '1' && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof MaskmixError ? error.code : undefined;
  process.stderr.write(`maskmix: ${message}\n`);
  process.exit(code === 'INVALID_ARGUMENT' || code === 'CONFIG_INVALID' ? 2 : code === 'ABORTED' ? 130 : 1);
}

/** Parses a command-line number option; a bad value is an INVALID_ARGUMENT naming the flag. */
export function parseNumber(flag: string, options: { integer?: boolean; min?: number; max?: number } = {}) {
  return (value: string): number => {
    const n = Number(value);
    const ok =
      value.trim() !== '' &&
      Number.isFinite(n) &&
      (!options.integer || Number.isInteger(n)) &&
      (options.min === undefined || n >= options.min) &&
      (options.max === undefined || n <= options.max);
    if (!ok) {
      const kind = options.integer ? 'an integer' : 'a number';
      const range =
        options.min !== undefined && options.max !== undefined
          ? ` in [${options.min}, ${options.max}]`
          : options.min !== undefined
            ? ` ≥ ${options.min}`
            : '';
      throw new MaskmixError('INVALID_ARGUMENT', `${flag} must be ${kind}${range}, got '${value}'`);
    }
    return n;
  };
}
