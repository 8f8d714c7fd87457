/**
 * Parquet files with a text column (as TinyStories and FineWeb ship) as a document stream. The file is read one
 * row group at a time, and only the text column's bytes of it, so memory follows the row-group size rather than
 * the file size. Snappy, zstd, gzip, brotli and lz4 pages are decompressed (hyparquet-compressors).
 */
import { open, type FileHandle } from 'node:fs/promises';

import { parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

import { check, MaskmixError } from '../errors.js';
import { fileError } from '../io/file-errors.js';
import type { SourceDocument } from './document-source.js';

/** Options for {@link readParquetDocuments}. */
export interface ParquetSourceOptions {
  /** The string column holding each document (default `text`). */
  column?: string;
}

/** The shape of a Parquet file as far as reading documents is concerned. */
export interface ParquetFileInfo {
  rows: number;
  rowGroups: number;
  /** Top-level column names, in schema order. */
  columns: string[];
}

/**
 * Yields one document per row of `column`, in file order; each origin is `file row N` (from 0). Empty strings are
 * yielded too. Throws `NOT_FOUND` for a missing file, `DATA_INVALID` for a file that is not Parquet, lacks the
 * column, holds something other than strings in it (a null included), or has pages that cannot be decoded.
 */
export async function* readParquetDocuments(path: string, options: ParquetSourceOptions = {}): AsyncGenerator<SourceDocument> {
  const column = options.column ?? 'text';
  check(typeof column === 'string' && column.length > 0, 'column must be a non-empty string');
  const { handle, file, metadata } = await openParquet(path);
  try {
    checkTextColumn(path, metadata, column);
    let rowStart = 0;
    for (const [group, rowGroup] of metadata.row_groups.entries()) {
      const rowEnd = rowStart + Number(rowGroup.num_rows);
      let rows: Record<string, unknown>[];
      try {
        rows = await parquetReadObjects({ file, metadata, columns: [column], rowStart, rowEnd, compressors });
      } catch (cause) {
        if (cause instanceof MaskmixError) throw cause;
        throw new MaskmixError('DATA_INVALID', `${path}: cannot decode row group ${group}: ${(cause as Error).message}`, { cause });
      }
      for (const [i, row] of rows.entries()) {
        const text = row[column];
        if (typeof text !== 'string') {
          const what = text === null || text === undefined ? 'null' : typeof text;
          throw new MaskmixError('DATA_INVALID', `${path} row ${rowStart + i}: column "${column}" is ${what}, not a string`);
        }
        yield { text, origin: `${path} row ${rowStart + i}` };
      }
      rowStart = rowEnd;
    }
  } finally {
    await handle.close();
  }
}

/** Row count, row groups and columns of a Parquet file, from its footer alone. Errors as {@link readParquetDocuments}. */
export async function parquetFileInfo(path: string): Promise<ParquetFileInfo> {
  const { handle, metadata } = await openParquet(path);
  await handle.close();
  return { rows: Number(metadata.num_rows), rowGroups: metadata.row_groups.length, columns: topLevelColumns(metadata).map((e) => e.name) };
}

async function openParquet(path: string): Promise<{ handle: FileHandle; file: AsyncBuffer; metadata: FileMetaData }> {
  check(typeof path === 'string' && path.length > 0, 'a Parquet source needs a file path');
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const stat = await handle.stat();
    if (stat.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    const file = fileBuffer(handle, stat.size, path);
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(file);
    } catch (cause) {
      if (cause instanceof MaskmixError) throw cause;
      throw new MaskmixError('DATA_INVALID', `${path} is not a readable Parquet file: ${(cause as Error).message}`, { cause });
    }
    return { handle, file, metadata };
  } catch (error) {
    await handle?.close();
    throw fileError(error, path);
  }
}

// hyparquet asks for byte ranges; each is read from the open file on demand, nothing else is kept.
function fileBuffer(handle: FileHandle, size: number, path: string): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const length = Math.max(0, Math.min(end, size) - start);
      const bytes = new Uint8Array(length);
      let done = 0;
      try {
        while (done < length) {
          const { bytesRead } = await handle.read(bytes, done, length - done, start + done);
          if (bytesRead === 0) throw new MaskmixError('DATA_INVALID', `${path} ended early: it changed while being read`);
          done += bytesRead;
        }
      } catch (error) {
        throw fileError(error, path);
      }
      return bytes.buffer;
    },
  };
}

type SchemaElement = FileMetaData['schema'][number];

function topLevelColumns(metadata: FileMetaData): SchemaElement[] {
  // schema[0] is the root; its num_children direct children follow, each followed by its own subtree.
  const columns: SchemaElement[] = [];
  let i = 1;
  const skip = (): void => {
    const children = metadata.schema[i++]?.num_children ?? 0;
    for (let c = 0; c < children; c++) skip();
  };
  for (let c = 0; c < (metadata.schema[0]?.num_children ?? 0) && i < metadata.schema.length; c++) {
    columns.push(metadata.schema[i]);
    skip();
  }
  return columns;
}

function checkTextColumn(path: string, metadata: FileMetaData, column: string): void {
  const columns = topLevelColumns(metadata);
  const element = columns.find((e) => e.name === column);
  if (!element) {
    const names = columns.map((e) => e.name).join(', ');
    throw new MaskmixError('DATA_INVALID', `${path} has no column "${column}" (its columns: ${names || 'none'})`);
  }
  if ((element.num_children ?? 0) > 0 || element.type !== 'BYTE_ARRAY') {
    const kind = (element.num_children ?? 0) > 0 ? 'nested values' : `${element.type} values`;
    throw new MaskmixError('DATA_INVALID', `${path}: column "${column}" holds ${kind}, not strings`);
  }
}
