/**
 * Plain-text documents from the user's own files, for training on data other than the Brown corpus.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { check, MaskmixError } from '../errors.js';

/** Options for {@link loadTextCorpus}. */
export interface TextCorpusOptions {
  /**
   * Make each blank-line-separated block its own document, instead of one document per file. Useful for a single
   * file that holds many short texts.
   */
  splitOnBlankLines?: boolean;
}

/**
 * Reads UTF-8 text files as documents. Each path is a file, or a folder whose `*.txt` files (not recursive, in
 * name order) are read. Line endings become `\n`; documents that are only whitespace are dropped, others are
 * kept as written apart from trimming surrounding blank lines.
 *
 * Throws `NOT_FOUND` for a path that does not exist or a folder with no `.txt` file, and `INVALID_ARGUMENT` for
 * no paths or when the files hold no text at all.
 */
export function loadTextCorpus(paths: string | readonly string[], options: TextCorpusOptions = {}): string[] {
  const list = typeof paths === 'string' ? [paths] : paths;
  check(Array.isArray(list) && list.length > 0, 'loadTextCorpus needs at least one path');
  const docs: string[] = [];
  for (const file of list.flatMap(expandPath)) {
    const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
    const pieces = options.splitOnBlankLines ? text.split(/\n[ \t]*\n/) : [text];
    for (const piece of pieces) {
      const doc = cleanDocument(piece);
      if (doc !== undefined) docs.push(doc);
    }
  }
  check(docs.length > 0, `the files hold no text: ${list.join(', ')}`);
  return docs;
}

/**
 * A document as kept: surrounding blank lines and trailing whitespace removed, `undefined` if nothing but whitespace
 * is left. Only blank lines are trimmed at the start, so a document's leading indentation survives.
 */
export function cleanDocument(piece: string): string | undefined {
  const doc = piece.replace(/^(?:[ \t]*\n)+/, '').replace(/\s+$/, '');
  return doc.trim().length > 0 ? doc : undefined;
}

function expandPath(path: string): string[] {
  check(typeof path === 'string' && path.length > 0, 'paths must be non-empty strings');
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (cause) {
    throw new MaskmixError('NOT_FOUND', `no such file or folder: ${path}`, { cause });
  }
  if (!isDirectory) return [path];
  const files = readdirSync(path)
    .filter((name) => name.toLowerCase().endsWith('.txt'))
    .sort()
    .map((name) => join(path, name))
    .filter((file) => statSync(file).isFile());
  if (files.length === 0) throw new MaskmixError('NOT_FOUND', `no .txt files in folder ${path}`);
  return files;
}
