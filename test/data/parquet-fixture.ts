/** Parquet files for tests, written with hyparquet-writer the way dataset hubs ship text: a `text` string column. */
import { writeFileSync } from 'node:fs';

import { parquetWriteBuffer } from 'hyparquet-writer';

/** Options for {@link writeTextParquet}. */
export interface TextParquetOptions {
  codec?: 'UNCOMPRESSED' | 'SNAPPY' | 'ZSTD';
  rowGroupSize?: number;
  /** Extra columns written beside `text`, as real datasets have (`id`, `url`, …). */
  extra?: Record<string, unknown[]>;
  /** Name of the text column (default `text`). */
  column?: string;
}

/** Writes `texts` as a Parquet file with one string column and returns the path. */
export function writeTextParquet(path: string, texts: Array<string | null>, options: TextParquetOptions = {}): string {
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: options.column ?? 'text', data: texts, type: 'STRING' },
      ...Object.entries(options.extra ?? {}).map(([name, data]) => ({ name, data })),
    ],
    codec: options.codec ?? 'SNAPPY',
    compressors: { ZSTD: zstdStoredFrame },
    rowGroupSize: options.rowGroupSize ?? 1000,
  });
  writeFileSync(path, new Uint8Array(buffer));
  return path;
}

/**
 * A valid zstd frame that stores `input` in raw (uncompressed) blocks. No zstd compressor ships for Node 20, and a
 * reader must still run its zstd decoder over such a frame, which is what the ZSTD test needs to exercise.
 */
export function zstdStoredFrame(input: Uint8Array): Uint8Array {
  const MAX_BLOCK = 128 * 1024;
  const blocks = Math.max(1, Math.ceil(input.length / MAX_BLOCK));
  const out = new Uint8Array(4 + 1 + 4 + blocks * 3 + input.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0xfd2fb528, true); // magic number
  out[4] = 0xa0; // frame header: 4-byte content size, single segment, no checksum, no dictionary
  view.setUint32(5, input.length, true);
  let at = 9;
  for (let b = 0; b < blocks; b++) {
    const chunk = input.subarray(b * MAX_BLOCK, (b + 1) * MAX_BLOCK);
    const header = (chunk.length << 3) | (0 << 1) | (b === blocks - 1 ? 1 : 0); // block type 0 = raw
    out[at] = header & 0xff;
    out[at + 1] = (header >> 8) & 0xff;
    out[at + 2] = (header >> 16) & 0xff;
    out.set(chunk, at + 3);
    at += 3 + chunk.length;
  }
  return out;
}
