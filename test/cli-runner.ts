/** Running the compiled `maskmix` CLI as a user does, in a child process, and keeping what it printed. */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { beforeAll, expect } from 'vitest';

export const BIN = join(import.meta.dirname, '..', 'bin', 'maskmix.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `maskmix <args>`; resolves (never rejects) with the exit code and both streams. */
export async function maskmix(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [BIN, ...args], { maxBuffer: 64 * 2 ** 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * For the tests of a describe block: a temp folder `dir` and in it `runDir`, a run folder from a 5-step quickstart
 * of a tiny mixer (d16, L1, n32, 12 documents, vocab 300), made once before the block's tests (both set by then).
 */
export function tinyQuickstartRunBeforeAll(prefix: string): { dir: string; runDir: string } {
  const paths = { dir: '', runDir: '' };
  beforeAll(async () => {
    paths.dir = mkdtempSync(join(tmpdir(), prefix));
    paths.runDir = join(paths.dir, 'run');
    const r = await maskmix('quickstart', '--steps', '5', '--width', '16', '--depth', '1', '--context', '32', '--documents', '12', '--vocab', '300', '--out', paths.runDir, '--json', '--no-progress');
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);
  return paths;
}
