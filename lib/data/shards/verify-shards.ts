/**
 * A full check of a token-shard folder: every shard's checksum against the manifest. The loader only checks
 * headers, sizes and id ranges (cheap, always); this reads every byte, so it is for after a copy or on suspicion.
 */
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

import { MaskmixError } from '../../errors.js';
import { fileError } from '../../io/file-errors.js';
import { readShardManifest, type ShardManifest } from './shard-manifest.js';

/**
 * Hashes every shard of `dir` and returns the manifest when all match. Throws `NOT_FOUND` for a folder without
 * manifest and `DATA_INVALID` naming the first shard that is missing or whose bytes differ from the manifest.
 */
export async function verifyTokenShards(dir: string): Promise<ShardManifest> {
  const manifest = readShardManifest(dir);
  for (const entry of [...manifest.train.shards, ...manifest.val.shards]) {
    const path = join(dir, entry.file);
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 }) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        bytes += chunk.length;
      }
    } catch (error) {
      const mapped = fileError(error, path);
      if (mapped.code === 'NOT_FOUND') throw new MaskmixError('DATA_INVALID', `token shard ${entry.file} listed in the manifest is missing`, { cause: error });
      throw mapped;
    }
    if (bytes !== entry.bytes || hash.digest('hex') !== entry.sha256) {
      throw new MaskmixError('DATA_INVALID', `token shard ${entry.file} is corrupt: its bytes do not match the manifest's checksum`);
    }
  }
  return manifest;
}
