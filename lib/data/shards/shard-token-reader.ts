/**
 * Random access to the token stream of one side of a shard folder: the shards' tokens end to end, read by range
 * straight from the files (the page cache does the caching), so the corpus is never held in memory. Every shard is
 * checked against its header and the manifest when first opened, and every id read is checked against the
 * vocabulary, so a damaged file gives `DATA_INVALID` instead of garbage ids reaching a model.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

import { check, MaskmixError } from '../../errors.js';
import { fileError } from '../../io/file-errors.js';
import { bytesPerToken, decodeShardHeader, requireLittleEndian, SHARD_HEADER_BYTES } from './shard-format.js';
import type { ShardManifest, ShardSplitName } from './shard-manifest.js';

/** Reads token ranges of one split, across shard boundaries. Call {@link ShardTokenReader.close} when done. */
export class ShardTokenReader {
  /** Tokens in the split. */
  readonly length: number;
  private readonly width: 2 | 4;
  private readonly starts: number[]; // first stream position of each shard, plus the total at the end
  private readonly fds: Array<number | undefined>;
  private scratch = new Uint8Array(0);

  constructor(
    private readonly dir: string,
    private readonly manifest: ShardManifest,
    readonly split: ShardSplitName,
  ) {
    requireLittleEndian();
    check(split === 'train' || split === 'val', `split must be 'train' or 'val', got ${split}`);
    this.width = bytesPerToken(manifest.dtype);
    this.starts = [0];
    for (const shard of manifest[split].shards) this.starts.push(this.starts[this.starts.length - 1] + shard.tokens);
    this.length = this.starts[this.starts.length - 1];
    this.fds = manifest[split].shards.map(() => undefined);
  }

  /**
   * Copies tokens `[start, start + count)` of the stream into `out` at `outOffset`. Throws `INVALID_ARGUMENT` for a
   * range outside the stream and `DATA_INVALID` for a shard that is missing, damaged, or holds an id ≥ vocabSize.
   */
  read(start: number, count: number, out: Int32Array, outOffset = 0): void {
    check(
      Number.isSafeInteger(start) && Number.isSafeInteger(count) && start >= 0 && count >= 0 && start + count <= this.length,
      `token range [${start}, ${start + count}) is outside the ${this.length} tokens of the ${this.split} split`,
    );
    check(outOffset >= 0 && outOffset + count <= out.length, 'the output array is too short for the range');
    let shard = this.shardOf(start);
    let position = start;
    let written = outOffset;
    while (position < start + count) {
      const local = position - this.starts[shard];
      const take = Math.min(this.starts[shard + 1] - position, start + count - position);
      this.readFromShard(shard, local, take, out, written);
      position += take;
      written += take;
      shard++;
    }
  }

  /** Closes every open shard file. The reader may still be used; it reopens files as needed. */
  close(): void {
    for (const [i, fd] of this.fds.entries()) {
      if (fd !== undefined) closeSync(fd);
      this.fds[i] = undefined;
    }
  }

  private shardOf(position: number): number {
    // Binary search for the last shard starting at or before `position`, skipping empty shards.
    let lo = 0;
    let hi = this.starts.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= position) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private readFromShard(shard: number, local: number, count: number, out: Int32Array, outOffset: number): void {
    const fd = this.open(shard);
    const bytes = count * this.width;
    if (this.scratch.byteLength < bytes) this.scratch = new Uint8Array(Math.max(bytes, 2 * this.scratch.byteLength));
    const entry = this.manifest[this.split].shards[shard];
    let done = 0;
    while (done < bytes) {
      let n: number;
      try {
        n = readSync(fd, this.scratch, done, bytes - done, SHARD_HEADER_BYTES + local * this.width + done);
      } catch (error) {
        throw fileError(error, join(this.dir, entry.file));
      }
      if (n === 0) throw new MaskmixError('DATA_INVALID', `token shard ${entry.file} ended early: it was truncated after being opened`);
      done += n;
    }
    const ids = this.width === 2 ? new Uint16Array(this.scratch.buffer, 0, count) : new Uint32Array(this.scratch.buffer, 0, count);
    const vocab = this.manifest.vocabSize;
    for (let i = 0; i < count; i++) {
      const id = ids[i];
      if (id >= vocab) {
        throw new MaskmixError('DATA_INVALID', `token shard ${entry.file} is corrupt: token ${local + i} is ${id}, not below the vocabulary size ${vocab}`);
      }
      out[outOffset + i] = id;
    }
  }

  private open(shard: number): number {
    const known = this.fds[shard];
    if (known !== undefined) return known;
    const entry = this.manifest[this.split].shards[shard];
    const path = join(this.dir, entry.file);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      const mapped = fileError(error, path);
      if (mapped.code === 'NOT_FOUND') throw new MaskmixError('DATA_INVALID', `token shard ${entry.file} listed in the manifest is missing from ${this.dir}`, { cause: error });
      throw mapped;
    }
    try {
      const size = fstatSync(fd).size;
      const head = new Uint8Array(SHARD_HEADER_BYTES);
      readSync(fd, head, 0, SHARD_HEADER_BYTES, 0);
      const header = decodeShardHeader(head, size, entry.file);
      const m = this.manifest;
      const matches =
        header.dtype === m.dtype && header.vocabSize === m.vocabSize && header.eosId === m.eosId && header.tokens === entry.tokens &&
        header.documents === entry.documents && size === entry.bytes && header.index === shard && header.split === this.split;
      if (!matches) throw new MaskmixError('DATA_INVALID', `token shard ${entry.file} does not match the manifest (was it replaced by another shard?)`);
    } catch (error) {
      closeSync(fd);
      throw error instanceof MaskmixError ? error : fileError(error, path);
    }
    this.fds[shard] = fd;
    return fd;
  }
}
