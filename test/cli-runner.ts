/** Running the compiled `maskmix` CLI as a user does, in a child process, and keeping what it printed. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

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

/** A run folder from a 5-step quickstart of a tiny mixer (d16, L1, n32, 12 documents, vocab 300), for CLI tests. */
export async function tinyQuickstartRun(runDir: string): Promise<CliResult> {
  return maskmix('quickstart', '--steps', '5', '--width', '16', '--depth', '1', '--context', '32', '--documents', '12', '--vocab', '300', '--out', runDir, '--json', '--no-progress');
}
