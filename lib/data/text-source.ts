/**
 * Plain-text files as a document stream, read line by line so that a multi-gigabyte file (TinyStories ships one
 * story after another in a single .txt) never has to fit in one string. The documents are cleaned exactly as
 * {@link loadTextCorpus} cleans them.
 */
import { check } from '../errors.js';
import { readLines } from '../io/line-reader.js';
import type { SourceDocument } from './document-source.js';
import { cleanDocument } from './text-corpus.js';

/** How a text file is cut into documents. */
export type TextSplit =
  /** The whole file is one document. */
  | { by: 'file' }
  /** Every block of lines between blank lines is a document. */
  | { by: 'blank-lines' }
  /** A line that is exactly `separator` (surrounding spaces ignored) ends a document, e.g. `<|endoftext|>`. */
  | { by: 'separator'; separator: string };

/** Options for {@link readTextDocuments}. */
export interface TextSourceOptions {
  /** Default `{ by: 'file' }`. */
  split?: TextSplit;
}

/**
 * Yields the documents of one UTF-8 text file (`.gz` is decompressed). Documents that are only whitespace are
 * skipped; each document's origin is `file:line` of its first line.
 * Throws `NOT_FOUND` for a missing file and `INVALID_ARGUMENT` for a bad split.
 */
export async function* readTextDocuments(path: string, options: TextSourceOptions = {}): AsyncGenerator<SourceDocument> {
  check(typeof path === 'string' && path.length > 0, 'a text source needs a file path');
  const split = options.split ?? { by: 'file' };
  check(['file', 'blank-lines', 'separator'].includes(split?.by), `split.by must be 'file', 'blank-lines' or 'separator'`);
  if (split.by === 'separator') {
    check(typeof split.separator === 'string' && split.separator.trim().length > 0, 'split.separator must be a non-empty string');
  }
  const separator = split.by === 'separator' ? split.separator.trim() : undefined;

  let lines: string[] = [];
  let firstLine = 1;
  let hasText = false;
  const flush = (): SourceDocument | undefined => {
    const text = cleanDocument(lines.join('\n'));
    lines = [];
    hasText = false;
    return text === undefined ? undefined : { text, origin: `${path}:${firstLine}` };
  };
  for await (const line of readLines(path)) {
    const ends =
      (split.by === 'blank-lines' && /^[ \t]*$/.test(line.text)) || (separator !== undefined && line.text.trim() === separator);
    if (ends) {
      const doc = flush();
      if (doc) yield doc;
      continue;
    }
    // A document starts at its first non-blank line, so its origin points at text rather than at a gap.
    if (!hasText && line.text.trim() !== '') {
      firstLine = line.number;
      hasText = true;
    }
    lines.push(line.text);
  }
  const doc = flush();
  if (doc) yield doc;
}
