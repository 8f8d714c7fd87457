/**
 * The safetensors checkpoint format, read and written in TypeScript so checkpoints move between maskmix, the
 * Python `safetensors` library and the paper's PyTorch code.
 *
 * Layout: an 8-byte little-endian unsigned header length N, then N bytes of UTF-8 JSON mapping each tensor name to
 * `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to the end of the header) plus an optional
 * `"__metadata__"` object of string → string, then the raw little-endian tensor bytes.
 */
import { endianness } from 'node:os';
import { constants as bufferConstants } from 'node:buffer';
import { open, type FileHandle } from 'node:fs/promises';
import { MaskmixError } from '../errors.js';
import type { TypedArray } from '../tensor-types.js';
import { writeFileAtomic } from './atomic-file.js';

/** Element types maskmix reads and writes. BF16 and F16 values are carried as their raw 16-bit patterns. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** The typed array each dtype is returned as: F16/BF16 → `Uint16Array`, I64 → `BigInt64Array`, BOOL → `Uint8Array` (0/1).
 * The same set of arrays a maskmix Tensor is made from. */
export type TensorArray = TypedArray;

/** A tensor to write. `data` is the matching typed array for `dtype`, or raw little-endian bytes (`Uint8Array`/`Buffer`). */
export interface SafetensorsTensorInput {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: ArrayBufferView;
}

/** A tensor read from a file. */
export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /**
   * The elements, row-major. Where the tensor's offset is aligned to its element size this is a view into one
   * buffer shared by all tensors of the file (so holding any tensor keeps the whole data section alive);
   * otherwise it is a copy.
   */
  data: TensorArray;
}

/** One tensor's entry in the header. */
export interface SafetensorsTensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  /** `[begin, end)` byte range, relative to {@link SafetensorsHeader.dataStart}. */
  dataOffsets: [number, number];
}

/** The parsed and validated header of a safetensors file. */
export interface SafetensorsHeader {
  /** The `__metadata__` object, or `{}` when the file has none. */
  metadata: Record<string, string>;
  /** Tensors in file (data offset) order. */
  tensors: Map<string, SafetensorsTensorInfo>;
  /** Absolute file offset of the first data byte (8 + header length). */
  dataStart: number;
  /** Size of the data section in bytes (file size − dataStart). */
  dataLength: number;
}

/** The contents of a safetensors file. */
export interface SafetensorsFile {
  metadata: Record<string, string>;
  /** Tensors in file (data offset) order. */
  tensors: Map<string, SafetensorsTensor>;
}

interface TypedArrayClass {
  readonly BYTES_PER_ELEMENT: number;
  new (length: number): TensorArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TensorArray;
}

const DTYPES: Record<SafetensorsDtype, TypedArrayClass> = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

/**
 * Every dtype maskmix supports, in the order {@link writeSafetensors} lays them out: largest elements first, and
 * within one size the Python library's order, so files match the ones it writes.
 */
export const SAFETENSORS_DTYPES: readonly SafetensorsDtype[] = ['I64', 'F64', 'F32', 'I32', 'BF16', 'F16', 'I16', 'I8', 'U8', 'BOOL'];

/** Bytes per element of `dtype`. */
export function dtypeByteSize(dtype: SafetensorsDtype): number {
  return DTYPES[dtype].BYTES_PER_ELEMENT;
}

// Same limit as the reference library: a real header is kilobytes; a huge one means a corrupt length field.
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(DTYPES, value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Element count of `shape`, or undefined if it is not a list of non-negative integers or overflows. */
function elementCount(shape: unknown): number | undefined {
  if (!Array.isArray(shape)) return undefined;
  let count = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) return undefined;
    count *= dim;
    if (!Number.isSafeInteger(count)) return undefined;
  }
  return count;
}

function requireLittleEndian(): void {
  // Typed-array views use host byte order; safetensors data is little-endian.
  if (endianness() !== 'LE') throw new MaskmixError('INTERNAL', 'safetensors I/O needs a little-endian host');
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/**
 * Writes tensors (and optional string metadata) to `path` as safetensors, atomically (see `writeFileAtomic`).
 *
 * Tensor data is streamed straight from the given arrays, so a large model is never concatenated in memory.
 * Tensors are laid out by dtype, largest elements first (see {@link SAFETENSORS_DTYPES}), then by name: the order
 * the Python library uses. With the header padded with spaces to a multiple of 8 this keeps every tensor aligned
 * for zero-copy reading.
 *
 * @param path - The file to create or replace.
 * @param tensors - Tensors by name, as a record or a map (e.g. the `tensors` of {@link readSafetensors}).
 * @param metadata - Optional `__metadata__`; every value must be a string. Omitted from the file when empty.
 * @throws MaskmixError `INVALID_ARGUMENT` naming the tensor when a dtype, shape or byte count is wrong;
 *   `NOT_FOUND` when the directory does not exist.
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, SafetensorsTensorInput> | ReadonlyMap<string, SafetensorsTensorInput>,
  metadata?: Record<string, string>,
): Promise<void> {
  requireLittleEndian();
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const items = entries.map(([name, tensor]) => ({ name, tensor, bytes: validateInput(name, tensor) }));
  items.sort((a, b) => {
    const byDtype = SAFETENSORS_DTYPES.indexOf(a.tensor.dtype) - SAFETENSORS_DTYPES.indexOf(b.tensor.dtype);
    if (byDtype !== 0) return byDtype;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });

  const header: Record<string, unknown> = {};
  // An empty metadata object is left out, so rewriting a file read without metadata reproduces it exactly.
  if (metadata !== undefined && Object.keys(validateMetadataInput(metadata)).length > 0) header[METADATA_KEY] = metadata;
  let offset = 0;
  for (const { name, tensor, bytes } of items) {
    header[name] = { dtype: tensor.dtype, shape: [...tensor.shape], data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const prefix = Buffer.alloc(8 + padded, 0x20); // spaces: JSON parsers skip trailing whitespace
  prefix.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(prefix, 8);

  async function* chunks(): AsyncGenerator<Uint8Array> {
    yield prefix;
    for (const { bytes } of items) yield bytes;
  }
  await writeFileAtomic(path, chunks());
}

function validateInput(name: string, tensor: SafetensorsTensorInput): Uint8Array {
  const fail = (what: string): never => {
    throw new MaskmixError('INVALID_ARGUMENT', `writeSafetensors: tensor '${name}' ${what}`);
  };
  if (name === METADATA_KEY) fail(`uses the reserved name ${METADATA_KEY}`);
  if (!isPlainObject(tensor)) fail('is not a { dtype, shape, data } object');
  if (!isDtype(tensor.dtype)) fail(`has unsupported dtype ${JSON.stringify(tensor.dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`);
  const count = elementCount(tensor.shape);
  if (count === undefined) fail(`has an invalid shape ${JSON.stringify(tensor.shape)} (expected non-negative integers)`);
  const data = tensor.data;
  if (!ArrayBuffer.isView(data)) fail('has data that is not a typed array or Buffer');
  // A Uint8Array is accepted as raw bytes for any dtype; any other view must be the dtype's own array type, which
  // catches e.g. Float64 data labelled F32.
  const expected = DTYPES[tensor.dtype];
  if (!(data instanceof Uint8Array) && !(data instanceof expected)) {
    fail(`has dtype ${tensor.dtype} but data is a ${data.constructor.name} (expected ${expected.name} or raw bytes)`);
  }
  const wantBytes = count! * expected.BYTES_PER_ELEMENT;
  if (data.byteLength !== wantBytes) {
    fail(`has ${data.byteLength} bytes of data but shape [${tensor.shape.join(', ')}] × ${tensor.dtype} needs ${wantBytes}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function validateMetadataInput(metadata: Record<string, string>): Record<string, string> {
  if (!isPlainObject(metadata)) throw new MaskmixError('INVALID_ARGUMENT', 'writeSafetensors: metadata must be an object of strings');
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new MaskmixError('INVALID_ARGUMENT', `writeSafetensors: metadata '${key}' must be a string, got ${typeof value}`);
    }
  }
  return metadata;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

function invalid(path: string, message: string): MaskmixError {
  return new MaskmixError('CHECKPOINT_INVALID', `${path}: ${message}`);
}

async function openForReading(path: string): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new MaskmixError('NOT_FOUND', `safetensors file not found: ${path}`, { cause: err });
    throw new MaskmixError('INTERNAL', `cannot open ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new MaskmixError('INVALID_ARGUMENT', `${path} is not a regular file`);
    return { handle, size: stats.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Fills `target` from `position`; a short read means the file shrank under us or its header lies. */
async function readExactly(handle: FileHandle, target: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < target.byteLength) {
    const length = Math.min(target.byteLength - done, 64 * 1024 * 1024);
    const { bytesRead } = await handle.read(target, done, length, position + done);
    if (bytesRead === 0) throw invalid(path, `unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

async function readHeaderFrom(handle: FileHandle, size: number, path: string): Promise<SafetensorsHeader> {
  if (size < 8) throw invalid(path, `file is ${size} bytes, too short for the 8-byte header length`);
  const lengthBytes = Buffer.alloc(8);
  await readExactly(handle, lengthBytes, 0, path);
  const declared = lengthBytes.readBigUInt64LE(0);
  if (declared > BigInt(size - 8)) throw invalid(path, `header length ${declared} runs past the end of the ${size}-byte file`);
  const headerLength = Number(declared);
  if (headerLength > MAX_HEADER_BYTES) throw invalid(path, `header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const headerBytes = Buffer.alloc(headerLength);
  await readExactly(handle, headerBytes, 8, path);
  const dataStart = 8 + headerLength;
  return parseHeader(headerBytes, dataStart, size - dataStart, path);
}

function parseHeader(bytes: Uint8Array, dataStart: number, dataLength: number, path: string): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid(path, 'header is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalid(path, `header is not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(parsed)) throw invalid(path, 'header is not a JSON object');

  let metadata: Record<string, string> = {};
  const infos: Array<[string, SafetensorsTensorInfo]> = [];
  for (const [name, entry] of Object.entries(parsed)) {
    if (name === METADATA_KEY) {
      metadata = parseMetadata(entry, path);
      continue;
    }
    infos.push([name, parseEntry(name, entry, dataLength, path)]);
  }

  // File order; then any two non-empty tensors that share bytes are neighbours in this order.
  infos.sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let previous: [string, SafetensorsTensorInfo] | undefined;
  for (const item of infos) {
    const [begin, end] = item[1].dataOffsets;
    if (begin === end) continue; // an empty tensor occupies no bytes
    if (previous && begin < previous[1].dataOffsets[1]) {
      throw invalid(path, `tensor '${item[0]}' bytes [${begin}, ${end}) overlap tensor '${previous[0]}' [${previous[1].dataOffsets.join(', ')})`);
    }
    previous = item;
  }
  return { metadata, tensors: new Map(infos), dataStart, dataLength };
}

function parseMetadata(entry: unknown, path: string): Record<string, string> {
  if (entry === null) return {};
  if (!isPlainObject(entry)) throw invalid(path, `${METADATA_KEY} is not an object`);
  for (const [key, value] of Object.entries(entry)) {
    if (typeof value !== 'string') throw invalid(path, `${METADATA_KEY} entry '${key}' is not a string`);
  }
  return entry as Record<string, string>;
}

function parseEntry(name: string, entry: unknown, dataLength: number, path: string): SafetensorsTensorInfo {
  const fail = (what: string): never => {
    throw invalid(path, `tensor '${name}' ${what}`);
  };
  if (!isPlainObject(entry)) fail('has a header entry that is not an object');
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (!isDtype(dtype)) fail(`has unsupported dtype ${JSON.stringify(dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`);
  const count = elementCount(shape);
  if (count === undefined) fail(`has an invalid shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(`has invalid data_offsets ${JSON.stringify(offsets)} (expected [begin, end])`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(`has data_offsets [${begin}, ${end}] with end before begin`);
  if (end > dataLength) fail(`has data_offsets [${begin}, ${end}] beyond the ${dataLength}-byte data section (file truncated?)`);
  const wantBytes = count! * dtypeByteSize(dtype as SafetensorsDtype);
  if (end - begin !== wantBytes) {
    fail(`has ${end - begin} bytes but shape ${JSON.stringify(shape)} × ${dtype as string} needs ${wantBytes}`);
  }
  return { dtype: dtype as SafetensorsDtype, shape: [...(shape as number[])], dataOffsets: [begin, end] };
}

/**
 * Reads and validates only the header of a safetensors file (names, dtypes, shapes, offsets, metadata), without
 * reading tensor data: cheap even for a multi-gigabyte checkpoint.
 *
 * @param path - The file to inspect.
 * @throws MaskmixError `NOT_FOUND` if the file does not exist; `CHECKPOINT_INVALID` (naming the tensor where
 *   there is one) for a bad header length, malformed JSON, unknown dtypes, wrong byte counts, or overlapping or
 *   out-of-range offsets.
 */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const { handle, size } = await openForReading(path);
  try {
    return await readHeaderFrom(handle, size, path);
  } finally {
    await handle.close();
  }
}

/**
 * Reads a whole safetensors file. The data section is read into one buffer, and each tensor is returned as a
 * typed-array view into it when its offset is aligned to its element size (always, for files written by
 * {@link writeSafetensors} or the Python library), or as a copy otherwise.
 *
 * @param path - The file to read.
 * @returns The metadata (`{}` if absent) and the tensors in file order.
 * @throws MaskmixError as {@link readSafetensorsHeader}; also `CHECKPOINT_INVALID` if the file is shorter than its
 *   header says.
 */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  requireLittleEndian();
  const { handle, size } = await openForReading(path);
  try {
    const header = await readHeaderFrom(handle, size, path);
    if (header.dataLength > bufferConstants.MAX_LENGTH) {
      throw new MaskmixError('INVALID_ARGUMENT', `${path}: data section of ${header.dataLength} bytes is too large to read at once`);
    }
    // Its own allocation (not the pooled Buffer slab), so the data section starts at an 8-aligned address and
    // tensor alignment depends only on the offsets in the header.
    const data = Buffer.allocUnsafeSlow(header.dataLength);
    await readExactly(handle, data, header.dataStart, path);
    const tensors = new Map<string, SafetensorsTensor>();
    for (const [name, info] of header.tensors) {
      tensors.set(name, { dtype: info.dtype, shape: info.shape, data: tensorView(data, info) });
    }
    return { metadata: header.metadata, tensors };
  } finally {
    await handle.close();
  }
}

function tensorView(data: Buffer, info: SafetensorsTensorInfo): TensorArray {
  const Kind = DTYPES[info.dtype];
  const [begin, end] = info.dataOffsets;
  const count = (end - begin) / Kind.BYTES_PER_ELEMENT;
  const byteOffset = data.byteOffset + begin;
  if (byteOffset % Kind.BYTES_PER_ELEMENT === 0) return new Kind(data.buffer, byteOffset, count);
  const copy = new Kind(count);
  new Uint8Array(copy.buffer).set(data.subarray(begin, end));
  return copy;
}
