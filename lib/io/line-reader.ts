/**
 * Line-by-line reading of a UTF-8 file of any size, optionally gzip-compressed, holding only the current chunk and
 * line in memory. Used by the text and JSONL data sources.
 */
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';

import { MaskmixError } from '../errors.js';
import { fileError } from './file-errors.js';

/** One line of a file, without its `\n` or `\r\n`. */
export interface FileLine {
  text: string;
  /** 1-based line number. */
  number: number;
}

/**
 * Yields the lines of `path`. A leading byte-order mark is dropped. A path ending in `.gz` is decompressed on the
 * fly. Throws `NOT_FOUND` for a missing file, `INVALID_ARGUMENT` for a folder, `DATA_INVALID` for broken gzip data.
 */
export async function* readLines(path: string): AsyncGenerator<FileLine> {
  let handle;
  try {
    handle = await open(path, 'r');
    if ((await handle.stat()).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
  } catch (error) {
    await handle?.close();
    throw fileError(error, path);
  }
  const raw = handle.createReadStream({ highWaterMark: 1 << 20 });
  const gzip = path.toLowerCase().endsWith('.gz');
  const stream = gzip ? raw.pipe(createGunzip()) : raw;
  if (gzip) raw.on('error', (error) => stream.destroy(error)); // pipe() does not forward source errors
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let number = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      pending += decoder.write(chunk);
      let start = 0;
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n', start)) {
        yield { text: stripLineEnd(pending, start, end, number), number: ++number };
        start = end + 1;
      }
      pending = pending.slice(start);
    }
    pending += decoder.end();
    if (pending.length > 0) yield { text: stripLineEnd(pending, 0, pending.length, number), number: ++number };
  } catch (error) {
    if (error instanceof MaskmixError) throw error;
    const zlibError = (error as NodeJS.ErrnoException).code?.startsWith('Z_');
    if (zlibError) throw new MaskmixError('DATA_INVALID', `${path} is not valid gzip data: ${(error as Error).message}`, { cause: error });
    throw fileError(error, path);
  } finally {
    stream.destroy();
    raw.destroy();
    await handle.close().catch(() => undefined); // the stream may have closed it already
  }
}

// The text between start and end, less a trailing \r (Windows line ends) and, on the first line, a byte-order mark.
function stripLineEnd(text: string, start: number, end: number, linesBefore: number): string {
  let line = text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
  if (linesBefore === 0 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
  return line;
}
