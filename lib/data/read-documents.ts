/**
 * One entry point for every data source: files and folders of plain text, JSONL or Parquet become one stream of
 * documents, each file read lazily in turn. The format is told by the file extension unless given.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { check, MaskmixError } from '../errors.js';
import { fileError } from '../io/file-errors.js';
import type { SourceDocument } from './document-source.js';
import { readJsonlDocuments } from './jsonl-source.js';
import { readParquetDocuments } from './parquet-source.js';
import { readTextDocuments, type TextSplit } from './text-source.js';

/** The file formats {@link readDocuments} understands. */
export type DocumentFormat = 'text' | 'jsonl' | 'parquet';

/** Options for {@link readDocuments}. */
export interface ReadDocumentsOptions {
  /** Read every file as this format instead of telling it by extension. */
  format?: DocumentFormat;
  /** The JSONL field or Parquet column holding the text (default `text`). */
  field?: string;
  /** How text files are cut into documents (default: one per file). */
  textSplit?: TextSplit;
  /** Stop after this many documents. */
  maxDocuments?: number;
}

const EXTENSIONS: ReadonlyArray<[suffix: string, format: DocumentFormat]> = [
  ['.txt', 'text'],
  ['.txt.gz', 'text'],
  ['.jsonl', 'jsonl'],
  ['.jsonl.gz', 'jsonl'],
  ['.ndjson', 'jsonl'],
  ['.ndjson.gz', 'jsonl'],
  ['.parquet', 'parquet'],
];

/** The format a file name's extension says, or `undefined` for an extension no reader knows. */
export function documentFormatOf(path: string): DocumentFormat | undefined {
  const lower = path.toLowerCase();
  return EXTENSIONS.find(([suffix]) => lower.endsWith(suffix))?.[1];
}

/**
 * Lists the files behind `paths`: a file stands for itself, a folder for its files with a known extension (in
 * name order, not recursive). Throws `NOT_FOUND` for a missing path or a folder without such files,
 * `INVALID_ARGUMENT` for no paths or a file whose format cannot be told (and none was given).
 */
export function documentFiles(paths: string | readonly string[], format?: DocumentFormat): Array<{ path: string; format: DocumentFormat }> {
  const list = typeof paths === 'string' ? [paths] : paths;
  check(Array.isArray(list) && list.length > 0, 'give at least one data file or folder');
  check(format === undefined || ['text', 'jsonl', 'parquet'].includes(format), `format must be 'text', 'jsonl' or 'parquet', got ${format}`);
  const files: Array<{ path: string; format: DocumentFormat }> = [];
  for (const path of list) {
    check(typeof path === 'string' && path.length > 0, 'data paths must be non-empty strings');
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch (cause) {
      throw new MaskmixError('NOT_FOUND', `no such data file or folder: ${path}`, { cause });
    }
    if (!isDirectory) {
      const known = format ?? documentFormatOf(path);
      check(known !== undefined, `cannot tell the format of ${path} from its name (.txt, .jsonl, .parquet); give the format`);
      files.push({ path, format: known });
      continue;
    }
    let names: string[];
    try {
      names = readdirSync(path).sort();
    } catch (error) {
      throw fileError(error, path, 'list');
    }
    const inside = names
      .map((name) => join(path, name))
      .filter((file) => isFile(file) && (format !== undefined || documentFormatOf(file) !== undefined));
    if (inside.length === 0) throw new MaskmixError('NOT_FOUND', `no .txt, .jsonl or .parquet files in folder ${path}`);
    for (const file of inside) files.push({ path: file, format: format ?? documentFormatOf(file)! });
  }
  return files;
}

// A broken link or an entry removed meanwhile is simply not a data file.
function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Streams the documents of every file behind `paths` (see {@link documentFiles}), file after file. Errors are
 * those of the readers: `NOT_FOUND`, `INVALID_ARGUMENT`, and `DATA_INVALID` naming the file and line or row.
 */
export async function* readDocuments(paths: string | readonly string[], options: ReadDocumentsOptions = {}): AsyncGenerator<SourceDocument> {
  const max = options.maxDocuments ?? Infinity;
  check(max === Infinity || (Number.isInteger(max) && max >= 0), `maxDocuments must be a non-negative integer, got ${max}`);
  const files = documentFiles(paths, options.format);
  let count = 0;
  for (const { path, format } of files) {
    if (count >= max) return;
    const docs =
      format === 'jsonl'
        ? readJsonlDocuments(path, { field: options.field })
        : format === 'parquet'
          ? readParquetDocuments(path, { column: options.field })
          : readTextDocuments(path, { split: options.textSplit });
    for await (const doc of docs) {
      yield doc;
      // Returning out of the loop closes the reader (and its file) through the generator's return().
      if (++count >= max) return;
    }
  }
}
