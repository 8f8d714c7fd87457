/**
 * The token shard file: a fixed 64-byte header, the token ids, then the end offset of every document that ends in
 * the shard. Everything is little-endian, so a shard is read straight into a typed array on the hosts we run on.
 *
 * ```
 * offset  size  field
 *      0     8  magic "MMTOKSH\0"
 *      8     4  format version (1)
 *     12     4  bytes per token: 2 (uint16, vocab ≤ 65536) or 4 (uint32)
 *     16     4  vocabulary size
 *     20     4  end-of-text id (written after every document)
 *     24     8  token count T
 *     32     8  document count D (documents ending in this shard)
 *     40     4  shard number within its split (0, 1, …)
 *     44     4  split: 0 train, 1 validation
 *     48    16  zero
 *     64     …  T token ids, then zero bytes up to a multiple of 8
 *      …  4·D  uint32 document ends: positions in this shard just past each document's end-of-text id
 * ```
 * A document may start in one shard and end in a later one; shards cut the token stream at fixed sizes.
 */
import { endianness } from 'node:os';

import { MaskmixError } from '../../errors.js';

/** Bytes before the first token. */
export const SHARD_HEADER_BYTES = 64;
/** Current version written into new shards; readers accept only this. */
export const SHARD_FORMAT_VERSION = 1;
/** Largest number of tokens one shard may hold (document ends are uint32 offsets). */
export const MAX_SHARD_TOKENS = 2 ** 31;

const MAGIC = Buffer.from('MMTOKSH\0', 'latin1');

/** Storage type of token ids. */
export type TokenDtype = 'uint16' | 'uint32';

/** What a shard's header says. */
export interface ShardHeader {
  dtype: TokenDtype;
  vocabSize: number;
  eosId: number;
  tokens: number;
  documents: number;
  /** Position of the shard in its split's list; with `split`, catches shards swapped or renamed by hand. */
  index: number;
  split: 'train' | 'val';
}

/** The smallest storage type for ids below `vocabSize`. */
export function dtypeForVocab(vocabSize: number): TokenDtype {
  return vocabSize <= 65536 ? 'uint16' : 'uint32';
}

/** Bytes per token of a dtype. */
export function bytesPerToken(dtype: TokenDtype): 2 | 4 {
  return dtype === 'uint16' ? 2 : 4;
}

/** Byte offset of the document-end table: the tokens rounded up to 8 bytes. */
export function documentTableOffset(header: Pick<ShardHeader, 'dtype' | 'tokens'>): number {
  return SHARD_HEADER_BYTES + Math.ceil((header.tokens * bytesPerToken(header.dtype)) / 8) * 8;
}

/** Total bytes of a shard with this header. */
export function shardByteLength(header: Pick<ShardHeader, 'dtype' | 'tokens' | 'documents'>): number {
  return documentTableOffset(header) + 4 * header.documents;
}

/** Throws `INTERNAL` on a big-endian host, where the typed arrays would not match the file's byte order. */
export function requireLittleEndian(): void {
  if (endianness() !== 'LE') throw new MaskmixError('INTERNAL', 'token shards need a little-endian host');
}

/** The 64 header bytes for `header`. */
export function encodeShardHeader(header: ShardHeader): Uint8Array {
  const bytes = new Uint8Array(SHARD_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint32(8, SHARD_FORMAT_VERSION, true);
  view.setUint32(12, bytesPerToken(header.dtype), true);
  view.setUint32(16, header.vocabSize, true);
  view.setUint32(20, header.eosId, true);
  view.setBigUint64(24, BigInt(header.tokens), true);
  view.setBigUint64(32, BigInt(header.documents), true);
  view.setUint32(40, header.index, true);
  view.setUint32(44, header.split === 'train' ? 0 : 1, true);
  return bytes;
}

/**
 * Parses and checks a shard header; `fileBytes` is the shard's size on disk, which must match the header.
 * Throws `DATA_INVALID` naming `name` for a wrong magic or version, impossible fields, or a truncated or padded file.
 */
export function decodeShardHeader(bytes: Uint8Array, fileBytes: number, name: string): ShardHeader {
  const bad = (why: string) => new MaskmixError('DATA_INVALID', `token shard ${name} is not valid: ${why}`);
  if (bytes.length < SHARD_HEADER_BYTES || fileBytes < SHARD_HEADER_BYTES) throw bad(`only ${fileBytes} bytes, shorter than its header`);
  if (!Buffer.from(bytes.buffer, bytes.byteOffset, MAGIC.length).equals(MAGIC)) throw bad('it does not start with the token-shard magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, SHARD_HEADER_BYTES);
  const version = view.getUint32(8, true);
  if (version !== SHARD_FORMAT_VERSION) throw bad(`format version ${version}; this maskmix reads version ${SHARD_FORMAT_VERSION}`);
  const width = view.getUint32(12, true);
  if (width !== 2 && width !== 4) throw bad(`${width} bytes per token (expected 2 or 4)`);
  const dtype: TokenDtype = width === 2 ? 'uint16' : 'uint32';
  const vocabSize = view.getUint32(16, true);
  const eosId = view.getUint32(20, true);
  const tokens = Number(view.getBigUint64(24, true));
  const documents = Number(view.getBigUint64(32, true));
  if (vocabSize < 1 || (dtype === 'uint16' && vocabSize > 65536) || vocabSize > 2 ** 31) throw bad(`vocabulary size ${vocabSize} for ${dtype}`);
  if (eosId >= vocabSize) throw bad(`end-of-text id ${eosId} is not below the vocabulary size ${vocabSize}`);
  if (tokens > MAX_SHARD_TOKENS || documents > tokens) throw bad(`${tokens} tokens and ${documents} documents`);
  const splitCode = view.getUint32(44, true);
  if (splitCode > 1) throw bad(`split code ${splitCode}`);
  const header: ShardHeader = { dtype, vocabSize, eosId, tokens, documents, index: view.getUint32(40, true), split: splitCode === 0 ? 'train' : 'val' };
  const expected = shardByteLength(header);
  if (fileBytes !== expected) {
    throw bad(`${fileBytes} bytes where its header implies ${expected}${fileBytes < expected ? ' (truncated)' : ''}`);
  }
  return header;
}
