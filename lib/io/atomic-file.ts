/**
 * Crash-safe file replacement. A checkpoint, config or metrics snapshot is either the complete old file or the
 * complete new one, never a half-written mix: data goes to a temporary file in the target's directory (a rename is
 * only atomic within one file system), is flushed to disk, and is then renamed over the target.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { MaskmixError } from '../errors.js';

/** One piece of file content: raw bytes or any typed-array view (written as its underlying bytes, host order). */
export type AtomicChunk = ArrayBufferView;

/**
 * Content for {@link writeFileAtomic}: a string (UTF-8), one byte view, or a (possibly async) sequence of byte
 * views. A sequence is consumed lazily, so a caller can stream a large file without concatenating it in memory.
 */
export type AtomicData = string | AtomicChunk | Iterable<AtomicChunk> | AsyncIterable<AtomicChunk>;

/** Options for {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Permission bits for the new file (before the umask); defaults to 0o666 like `fs.writeFile`. */
  mode?: number;
}

// Bounded writes: one `write` call is limited to 2 GiB by Node, and smaller pieces keep the event loop responsive.
const MAX_WRITE_BYTES = 64 * 1024 * 1024;

function asBytes(chunk: AtomicChunk): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (!ArrayBuffer.isView(chunk)) {
    throw new MaskmixError('INVALID_ARGUMENT', `writeFileAtomic: expected a Uint8Array or typed-array chunk, got ${typeof chunk}`);
  }
  return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

async function* chunksOf(data: AtomicData): AsyncGenerator<Uint8Array> {
  if (typeof data === 'string') {
    yield Buffer.from(data, 'utf8');
  } else if (ArrayBuffer.isView(data)) {
    // Checked before the iterable branch: a typed array is itself iterable (over numbers, not chunks).
    yield asBytes(data);
  } else if (data != null && (Symbol.asyncIterator in data || Symbol.iterator in data)) {
    for await (const chunk of data as AsyncIterable<AtomicChunk>) yield asBytes(chunk);
  } else {
    throw new MaskmixError('INVALID_ARGUMENT', 'writeFileAtomic: data must be a string, a byte view or an iterable of byte views');
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const length = Math.min(MAX_WRITE_BYTES, bytes.byteLength - done);
    // `write` may write fewer bytes than asked (e.g. on a nearly full disk it then fails on the next call).
    const { bytesWritten } = await handle.write(bytes, done, length);
    done += bytesWritten;
  }
}

// Makes the rename itself durable. Some platforms and file systems cannot fsync a directory; there the rename
// has already happened and is as durable as that system allows, so the failure is not reported.
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EACCES', 'ENOTSUP', 'EBADF'].includes(code ?? '')) throw err;
  } finally {
    await handle?.close();
  }
}

function tempPathFor(target: string): string {
  // pid + random suffix: concurrent writers of the same target never share a temporary file.
  const suffix = `${process.pid}.${randomBytes(6).toString('hex')}`;
  return join(dirname(target), `.${basename(target)}.${suffix}.tmp`);
}

/**
 * Writes `data` to `path` atomically: the content goes to a temporary file in the same directory, is fsynced, is
 * renamed over `path`, and the directory is fsynced. If anything fails (including the data iterator throwing
 * midway), the temporary file is removed, any previous file at `path` is left untouched, and the error is rethrown.
 *
 * The parent directory must exist (a missing one is reported as `NOT_FOUND`).
 *
 * @param path - The file to create or replace.
 * @param data - A string (UTF-8), a byte view, or a sync/async iterable of byte views written in order.
 * @param options - Optional file mode for the new file.
 */
export async function writeFileAtomic(path: string, data: AtomicData, options: AtomicWriteOptions = {}): Promise<void> {
  const target = resolve(path);
  const temp = tempPathFor(target);
  let handle: FileHandle | undefined;
  try {
    try {
      // 'wx' refuses to follow or reuse an existing path, so the temporary file is always our own.
      handle = await open(temp, 'wx', options.mode ?? 0o666);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new MaskmixError('NOT_FOUND', `cannot write ${target}: directory ${dirname(target)} does not exist`, { cause: err });
      }
      throw err;
    }
    for await (const chunk of chunksOf(data)) await writeAll(handle, chunk);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, target);
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined); // already gone if open() failed or rename() succeeded
    throw err;
  }
  await syncDirectory(dirname(target));
}

/** Options for {@link writeJsonAtomic}. */
export interface JsonWriteOptions extends AtomicWriteOptions {
  /** Indentation passed to `JSON.stringify`; defaults to 2. Use 0 for one line. */
  indent?: number;
}

/**
 * Serialises `value` as JSON (with a trailing newline) and writes it with {@link writeFileAtomic}.
 *
 * @param path - The file to create or replace.
 * @param value - Any JSON-serialisable value; `undefined`, functions and BigInts are rejected with `INVALID_ARGUMENT`.
 * @param options - Indentation and file mode.
 */
export async function writeJsonAtomic(path: string, value: unknown, options: JsonWriteOptions = {}): Promise<void> {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, null, options.indent ?? 2);
  } catch (err) {
    throw new MaskmixError('INVALID_ARGUMENT', `cannot serialise JSON for ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (text === undefined) throw new MaskmixError('INVALID_ARGUMENT', `cannot serialise ${typeof value} as JSON for ${path}`);
  await writeFileAtomic(path, `${text}\n`, { mode: options.mode });
}
