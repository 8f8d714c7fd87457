/**
 * Pre-tokenisation: a document stream becomes a folder of token shards (see shard-format.ts) plus manifest.json.
 * Each document is encoded, followed by the end-of-text id, and appended to the train or validation stream by a
 * hash of its text. Memory stays at one batch of documents plus one shard per side; every shard and the manifest
 * are written atomically, the manifest last, so an interrupted run never leaves a folder that looks complete.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { check, MaskmixError } from '../../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../../io/atomic-file.js';
import { fileError } from '../../io/file-errors.js';
import { asDocuments, type DocumentInput, type SourceDocument } from '../document-source.js';
import {
  dtypeForVocab,
  encodeShardHeader,
  MAX_SHARD_TOKENS,
  requireLittleEndian,
  shardByteLength,
  type ShardHeader,
  type TokenDtype,
} from './shard-format.js';
import { MANIFEST_FILE, MANIFEST_FORMAT, type ShardFileEntry, type ShardManifest, type ShardSplitName } from './shard-manifest.js';
import { isValidationText } from './text-hash-split.js';

/** What the writer needs of a tokenizer; {@link Tokenizer} from lib/tokenizer has this shape. */
export interface TokenEncoder {
  readonly vocabSize: number;
  readonly eosId: number;
  encodeBatch(texts: readonly string[]): Promise<number[][]>;
  /** The tokenizer.json text; when present it is saved beside the shards. */
  toJSON?(): string;
}

/** Progress after each encoded batch of documents. */
export interface ShardProgress {
  /** Documents read so far (skipped ones included). */
  documents: number;
  /** Tokens written or buffered so far, end-of-text ids included. */
  tokens: number;
  trainTokens: number;
  valTokens: number;
  /** Shard files finished so far. */
  shards: number;
  elapsedSeconds: number;
  tokensPerSecond: number;
  documentsPerSecond: number;
}

/** Options for {@link writeTokenShards}. */
export interface WriteShardsOptions {
  /** Folder for the shards; created if missing, and must be empty (shards are never overwritten). */
  outDir: string;
  tokenizer: TokenEncoder;
  /** Share of documents (by text hash) for validation, in [0, 1); default 0.01. */
  valFraction?: number;
  /** Seed of the split; default 0. */
  seed?: number;
  /** Tokens per shard file; default 2^25 (64 MiB of uint16). The last shard of each side holds the rest. */
  shardTokens?: number;
  /** Documents per `encodeBatch` call; default 256. */
  encodeBatchSize?: number;
  onProgress?: (progress: ShardProgress) => void;
}

/** Default tokens per shard. */
export const DEFAULT_SHARD_TOKENS = 2 ** 25;

// Encoding batches are also cut by characters, so a few huge documents cannot make one batch enormous.
const MAX_BATCH_CHARS = 8 * 2 ** 20;

/** Tokens of one side of the split, collected until a shard is full. */
class ShardBuilder {
  readonly entries: ShardFileEntry[] = [];
  tokens = 0;
  documents = 0;
  private buffer: Uint16Array | Uint32Array;
  private filled = 0;
  private documentEnds: number[] = [];

  constructor(
    private readonly side: ShardSplitName,
    private readonly dir: string,
    private readonly dtype: TokenDtype,
    private readonly capacity: number,
    private readonly header: { vocabSize: number; eosId: number },
  ) {
    // Start small and grow: a small corpus should not allocate a full shard.
    this.buffer = this.allocate(Math.min(capacity, 1 << 16));
  }

  /** Appends one document's ids and its end-of-text id, writing shards as they fill. */
  async add(ids: readonly number[]): Promise<void> {
    let at = 0;
    const total = ids.length + 1;
    while (at < total) {
      if (this.filled === this.capacity) await this.flush();
      const room = this.capacity - this.filled;
      const take = Math.min(room, total - at);
      this.reserve(this.filled + take);
      for (let k = 0; k < take; k++, at++) this.buffer[this.filled + k] = at < ids.length ? ids[at] : this.header.eosId;
      this.filled += take;
    }
    this.documentEnds.push(this.filled);
    this.tokens += total;
    this.documents++;
  }

  /** Writes the buffered tokens as the next shard file (nothing if empty). */
  async flush(): Promise<void> {
    if (this.filled === 0) return;
    const file = `${this.side}-${String(this.entries.length).padStart(5, '0')}.bin`;
    const header: ShardHeader = {
      dtype: this.dtype,
      vocabSize: this.header.vocabSize,
      eosId: this.header.eosId,
      tokens: this.filled,
      documents: this.documentEnds.length,
      index: this.entries.length,
      split: this.side,
    };
    const tokenBytes = new Uint8Array(this.buffer.buffer, 0, this.filled * this.buffer.BYTES_PER_ELEMENT);
    const padding = new Uint8Array((8 - (tokenBytes.byteLength % 8)) % 8);
    const chunks = [encodeShardHeader(header), tokenBytes, padding, Uint32Array.from(this.documentEnds)];
    const hash = createHash('sha256');
    for (const chunk of chunks) hash.update(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    await writeFileAtomic(join(this.dir, file), chunks);
    this.entries.push({ file, tokens: this.filled, documents: this.documentEnds.length, bytes: shardByteLength(header), sha256: hash.digest('hex') });
    this.filled = 0;
    this.documentEnds = [];
  }

  private reserve(length: number): void {
    if (length <= this.buffer.length) return;
    const grown = this.allocate(Math.min(this.capacity, Math.max(length, this.buffer.length * 2)));
    grown.set(this.buffer.subarray(0, this.filled));
    this.buffer = grown;
  }

  private allocate(length: number): Uint16Array | Uint32Array {
    return this.dtype === 'uint16' ? new Uint16Array(length) : new Uint32Array(length);
  }
}

/**
 * Throws INVALID_ARGUMENT unless `outDir` is new or an empty folder: shards are never written over other files.
 * Callers with slow work before writing (training a tokenizer) check it first.
 */
export function requireShardFolderFree(outDir: string): void {
  try {
    if (!existsSync(outDir)) return;
    check(statSync(outDir).isDirectory(), `${outDir} is a file; give a folder for the shards`);
    check(readdirSync(outDir).length === 0, `${outDir} already holds files; choose an empty or new folder (shards are never overwritten)`);
  } catch (error) {
    throw fileError(error, outDir, 'use');
  }
}

/**
 * Tokenises `documents` into a shard folder and returns its manifest. Documents that encode to no token (empty
 * texts) are skipped and counted. Errors: `INVALID_ARGUMENT` for bad options or a non-empty `outDir`,
 * `TOKEN_OUT_OF_RANGE` if the tokenizer returns an id outside its vocabulary, and whatever the document stream
 * throws (`DATA_INVALID` naming a bad line or row); on an error no manifest is written.
 */
export async function writeTokenShards(documents: DocumentInput, options: WriteShardsOptions): Promise<ShardManifest> {
  requireLittleEndian();
  const { outDir, tokenizer } = options;
  check(typeof outDir === 'string' && outDir.length > 0, 'outDir must be a non-empty string');
  check(
    tokenizer != null && typeof tokenizer.encodeBatch === 'function',
    'tokenizer must have encodeBatch(texts), vocabSize and eosId (a Tokenizer does)',
  );
  const { vocabSize, eosId } = tokenizer;
  check(Number.isInteger(vocabSize) && vocabSize >= 1 && vocabSize <= 2 ** 31, `tokenizer.vocabSize must be an integer in [1, 2^31], got ${vocabSize}`);
  check(Number.isInteger(eosId) && eosId >= 0 && eosId < vocabSize, `tokenizer.eosId must be an id below ${vocabSize}, got ${eosId}`);
  const valFraction = options.valFraction ?? 0.01;
  check(typeof valFraction === 'number' && valFraction >= 0 && valFraction < 1, `valFraction must be in [0, 1), got ${valFraction}`);
  const seed = options.seed ?? 0;
  check(Number.isSafeInteger(seed), `seed must be an integer, got ${seed}`);
  const shardTokens = options.shardTokens ?? DEFAULT_SHARD_TOKENS;
  check(Number.isInteger(shardTokens) && shardTokens >= 1 && shardTokens <= MAX_SHARD_TOKENS, `shardTokens must be an integer in [1, 2^31], got ${shardTokens}`);
  const batchSize = options.encodeBatchSize ?? 256;
  check(Number.isInteger(batchSize) && batchSize >= 1, `encodeBatchSize must be a positive integer, got ${batchSize}`);
  requireShardFolderFree(outDir);
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (error) {
    throw fileError(error, outDir, 'use');
  }

  const dtype = dtypeForVocab(vocabSize);
  const sides = {
    train: new ShardBuilder('train', outDir, dtype, shardTokens, { vocabSize, eosId }),
    val: new ShardBuilder('val', outDir, dtype, shardTokens, { vocabSize, eosId }),
  };
  const start = performance.now();
  let read = 0;
  let skipped = 0;
  const report = () => {
    if (!options.onProgress) return;
    const elapsedSeconds = (performance.now() - start) / 1000;
    const tokens = sides.train.tokens + sides.val.tokens;
    options.onProgress({
      documents: read,
      tokens,
      trainTokens: sides.train.tokens,
      valTokens: sides.val.tokens,
      shards: sides.train.entries.length + sides.val.entries.length,
      elapsedSeconds,
      tokensPerSecond: elapsedSeconds > 0 ? tokens / elapsedSeconds : 0,
      documentsPerSecond: elapsedSeconds > 0 ? read / elapsedSeconds : 0,
    });
  };

  const append = async (batch: SourceDocument[], encoded: number[][]) => {
    for (const [i, ids] of encoded.entries()) {
      const doc = batch[i];
      if (ids.length === 0) {
        skipped++;
        continue;
      }
      for (const id of ids) {
        if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) {
          throw new MaskmixError('TOKEN_OUT_OF_RANGE', `the tokenizer gave id ${id} (vocabulary ${vocabSize}) for ${doc.origin}`);
        }
      }
      await sides[isValidationText(doc.text, seed, valFraction) ? 'val' : 'train'].add(ids);
    }
    read += batch.length;
    report();
  };

  // Encoding one batch overlaps with reading the next: the tokenizer works on its own threads meanwhile.
  let pending: { batch: SourceDocument[]; encoded: Promise<number[][]> } | undefined;
  const encode = (batch: SourceDocument[]) => {
    const encoded = tokenizer.encodeBatch(batch.map((d) => d.text));
    encoded.catch(() => undefined); // awaited below; this only keeps a failure during reading from going unhandled
    return { batch, encoded };
  };
  let batch: SourceDocument[] = [];
  let chars = 0;
  for await (const doc of asDocuments(documents)) {
    batch.push(doc);
    chars += doc.text.length;
    if (batch.length < batchSize && chars < MAX_BATCH_CHARS) continue;
    if (pending) await append(pending.batch, await checkedEncoding(pending));
    pending = encode(batch);
    batch = [];
    chars = 0;
  }
  if (pending) await append(pending.batch, await checkedEncoding(pending));
  if (batch.length > 0) {
    const last = encode(batch);
    await append(last.batch, await checkedEncoding(last));
  }
  await sides.train.flush();
  await sides.val.flush();
  report();

  let tokenizerEntry: ShardManifest['tokenizer'];
  if (typeof tokenizer.toJSON === 'function') {
    const json = tokenizer.toJSON();
    await writeFileAtomic(join(outDir, 'tokenizer.json'), json);
    tokenizerEntry = { file: 'tokenizer.json', sha256: createHash('sha256').update(json).digest('hex') };
  }
  const manifest: ShardManifest = {
    format: MANIFEST_FORMAT,
    version: 1,
    vocabSize,
    dtype,
    eosId,
    split: { by: 'text-hash', valFraction, seed },
    train: { tokens: sides.train.tokens, documents: sides.train.documents, shards: sides.train.entries },
    val: { tokens: sides.val.tokens, documents: sides.val.documents, shards: sides.val.entries },
    skippedDocuments: skipped,
    ...(tokenizerEntry ? { tokenizer: tokenizerEntry } : {}),
    createdAt: new Date().toISOString(),
  };
  await writeJsonAtomic(join(outDir, MANIFEST_FILE), manifest);
  return manifest;
}

async function checkedEncoding(pending: { batch: SourceDocument[]; encoded: Promise<number[][]> }): Promise<number[][]> {
  let encoded: number[][];
  try {
    encoded = await pending.encoded;
  } catch (cause) {
    if (cause instanceof MaskmixError) throw cause;
    throw new MaskmixError('INTERNAL', `the tokenizer failed on the batch starting at ${pending.batch[0]?.origin}: ${String(cause)}`, { cause });
  }
  check(
    Array.isArray(encoded) && encoded.length === pending.batch.length,
    `encodeBatch returned ${Array.isArray(encoded) ? encoded.length : typeof encoded} results for ${pending.batch.length} texts`,
  );
  return encoded;
}
