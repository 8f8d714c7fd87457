/**
 * `writeReport`: run directories in, one self-contained HTML file out (see report-html.ts for what it shows).
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { check } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-file.js';
import { renderReport, type ReportOptions } from './report-html.js';
import { readRunRecord } from './run-record.js';

/** What {@link writeReport} wrote. */
export interface WrittenReport {
  /** Absolute path of the HTML file. */
  path: string;
  /** The run directories, in report order. */
  runs: string[];
  bytes: number;
}

/**
 * Reads every run directory and writes the comparison report to `outPath` (atomically; missing parent folders are
 * created). Throws `INVALID_ARGUMENT` for no runs, or a label count that does not match, `NOT_FOUND` for a
 * missing run directory or one without metrics.jsonl, and `DATA_INVALID` naming the file and line of bad data.
 */
export async function writeReport(runDirs: readonly string[], outPath: string, options: ReportOptions = {}): Promise<WrittenReport> {
  check(Array.isArray(runDirs) && runDirs.length > 0, 'a report needs at least one run directory');
  check(typeof outPath === 'string' && outPath.length > 0, 'the report path must be a non-empty string');
  // Only an .html file: a mistyped path must never replace weights, a config or a folder.
  check(/\.html?$/i.test(outPath), `the report path must name an .html file, got '${outPath}'`);
  check(!(existsSync(outPath) && statSync(outPath).isDirectory()), `${outPath} is a folder: give the report's file path, e.g. ${join(outPath, 'report.html')}`);
  check(options.labels === undefined || options.labels.length === runDirs.length, `give one label per run (${runDirs.length}), got ${options.labels?.length}`);
  const records = runDirs.map(readRunRecord);
  const html = renderReport(records, options);
  const path = resolve(outPath);
  mkdirSync(dirname(path), { recursive: true });
  await writeFileAtomic(path, html);
  return { path, runs: [...runDirs], bytes: Buffer.byteLength(html) };
}
