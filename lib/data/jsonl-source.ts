/**
 * JSON Lines files (one JSON object a line, as many datasets ship) as a document stream, read line by line. A bad
 * line stops the stream with an error naming the file and line, rather than being skipped: silently dropped data
 * would change an experiment without anyone noticing.
 */
import { check, MaskmixError } from '../errors.js';
import { readLines } from '../io/line-reader.js';
import type { SourceDocument } from './document-source.js';

/** Options for {@link readJsonlDocuments}. */
export interface JsonlSourceOptions {
  /** The field holding the document's text (default `text`). */
  field?: string;
}

/**
 * Yields one document per non-blank line of a JSONL file (`.gz` is decompressed). Empty texts are yielded too; a
 * consumer decides what to do with them. Throws `NOT_FOUND` for a missing file and `DATA_INVALID` naming
 * `file:line` for a line that is not a JSON object or lacks a string `field`.
 */
export async function* readJsonlDocuments(path: string, options: JsonlSourceOptions = {}): AsyncGenerator<SourceDocument> {
  check(typeof path === 'string' && path.length > 0, 'a JSONL source needs a file path');
  const field = options.field ?? 'text';
  check(typeof field === 'string' && field.length > 0, 'field must be a non-empty string');
  const shape = (value: unknown) => `expected a JSON object with a "${field}" field, got ${describe(value)}`;
  for await (const { record, where } of readJsonlObjects(path, shape)) {
    const text = record[field];
    if (text === undefined) throw new MaskmixError('DATA_INVALID', `${where}: the object has no "${field}" field`);
    if (typeof text !== 'string') throw new MaskmixError('DATA_INVALID', `${where}: "${field}" is ${describe(text)}, not a string`);
    yield { text, origin: where };
  }
}

/**
 * The JSON object on each non-blank line of a JSONL file, with its `file:line`. Throws `DATA_INVALID` naming
 * `file:line` for a line that is not JSON, or (with `shapeError`'s message) not an object.
 */
export async function* readJsonlObjects(
  path: string,
  shapeError: (value: unknown) => string,
): AsyncGenerator<{ record: Record<string, unknown>; where: string }> {
  for await (const line of readLines(path)) {
    if (line.text.trim() === '') continue;
    const where = `${path}:${line.number}`;
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch (cause) {
      throw new MaskmixError('DATA_INVALID', `${where}: not valid JSON (${(cause as Error).message})`, { cause });
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new MaskmixError('DATA_INVALID', `${where}: ${shapeError(value)}`);
    yield { record: value as Record<string, unknown>, where };
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
