import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MaskmixError } from '../../lib/errors.js';
import {
  SAFETENSORS_DTYPES,
  dtypeByteSize,
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
  type SafetensorsTensorInput,
} from '../../lib/io/safetensors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maskmix-st-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MaskmixError);
  expect((err as MaskmixError).code).toBe(code);
  if (message) expect((err as MaskmixError).message).toMatch(message);
}

function bytesOf(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** One tensor of every dtype, with edge values (NaN, -0, ±Inf, extreme integers, raw half-float patterns). */
function everyDtype(): Record<string, SafetensorsTensorInput> {
  return {
    f64: { dtype: 'F64', shape: [2, 3], data: new Float64Array([1.5, -0, NaN, Infinity, -1e300, Number.MIN_VALUE]) },
    f32: { dtype: 'F32', shape: [5], data: new Float32Array([0.1, -3.25, NaN, -Infinity, 3.4e38]) },
    f16: { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x7e00]) }, // 1, -2, NaN
    bf16: { dtype: 'BF16', shape: [1, 3], data: new Uint16Array([0x3f80, 0xbf80, 0x7f80]) }, // 1, -1, +Inf
    i64: { dtype: 'I64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n]) },
    i32: { dtype: 'I32', shape: [2, 2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1, 7, -7]) },
    i16: { dtype: 'I16', shape: [3], data: new Int16Array([-32768, 32767, 1]) },
    i8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 127, 0]) },
    u8: { dtype: 'U8', shape: [4], data: new Uint8Array([0, 1, 254, 255]) },
    bool: { dtype: 'BOOL', shape: [2, 1], data: new Uint8Array([1, 0]) },
    scalar: { dtype: 'F32', shape: [], data: new Float32Array([42]) },
    empty: { dtype: 'I32', shape: [0, 3], data: new Int32Array(0) },
  };
}

const arrayClass = {
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
} as const;

/** Writes a file from a header (object or literal JSON text) and data bytes, exactly as given. */
async function handMade(header: unknown, data: number[] | Uint8Array = [], name = 'hand.safetensors'): Promise<string> {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeUInt32LE(json.length, 0); // high 32 bits stay zero
  const path = join(dir, name);
  await writeFile(path, Buffer.concat([length, json, Buffer.from(data)]));
  return path;
}

describe('writeSafetensors / readSafetensors', () => {
  it('round-trips every dtype bit-exactly, with metadata', async () => {
    const path = join(dir, 'all.safetensors');
    const input = everyDtype();
    expect(new Set(Object.values(input).map((t) => t.dtype))).toEqual(new Set(SAFETENSORS_DTYPES));
    await writeSafetensors(path, input, { format: 'pt', note: 'ünïcode ✓' });

    const { metadata, tensors } = await readSafetensors(path);
    expect(metadata).toEqual({ format: 'pt', note: 'ünïcode ✓' });
    expect(new Set(tensors.keys())).toEqual(new Set(Object.keys(input)));
    const buffers = new Set<ArrayBufferLike>();
    for (const [name, want] of Object.entries(input)) {
      const got = tensors.get(name)!;
      expect(got.dtype).toBe(want.dtype);
      expect(got.shape).toEqual(want.shape);
      expect(got.data).toBeInstanceOf(arrayClass[want.dtype]);
      expect(got.data.constructor).toBe(arrayClass[want.dtype]); // a plain typed array, not a Buffer
      expect(bytesOf(got.data).equals(bytesOf(want.data))).toBe(true);
      if (got.data.byteLength > 0) buffers.add(got.data.buffer);
    }
    // Aligned layout → every tensor is a view into one shared data buffer (no copies).
    expect(buffers.size).toBe(1);
    expect(await readdir(dir)).toEqual(['all.safetensors']);
  });

  it('lays the file out aligned: padded header, largest elements first, then by name', async () => {
    const path = join(dir, 'layout.safetensors');
    await writeSafetensors(path, {
      'b.bias': { dtype: 'F32', shape: [1], data: new Float32Array([1]) },
      tok: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
      'a.weight': { dtype: 'F32', shape: [2], data: new Float32Array([2, 3]) },
      step: { dtype: 'I64', shape: [], data: new BigInt64Array([5n]) },
      half: { dtype: 'BF16', shape: [1], data: new Uint16Array([0x3f80]) },
    });
    const raw = await readFile(path);
    const headerLength = Number(raw.readBigUInt64LE(0));
    expect(headerLength % 8).toBe(0);
    expect(raw.subarray(8, 8 + headerLength).toString('utf8')).toMatch(/} *$/);

    const header = await readSafetensorsHeader(path);
    expect(header.dataStart).toBe(8 + headerLength);
    expect(header.dataLength).toBe(raw.length - header.dataStart);
    expect([...header.tensors.keys()]).toEqual(['step', 'a.weight', 'b.bias', 'half', 'tok']);
    expect(header.tensors.get('a.weight')).toEqual({ dtype: 'F32', shape: [2], dataOffsets: [8, 16] });
    for (const info of header.tensors.values()) expect(info.dataOffsets[0] % dtypeByteSize(info.dtype)).toBe(0);
    expect(header.metadata).toEqual({});
    // Without metadata there is no __metadata__ entry at all.
    expect(raw.subarray(8, 8 + headerLength).toString('utf8')).not.toContain('__metadata__');
  });

  it('accepts raw little-endian bytes and Map input (re-writing what it read)', async () => {
    const first = join(dir, 'first.safetensors');
    const floats = new Float32Array([1.25, -8]);
    await writeSafetensors(first, { w: { dtype: 'F32', shape: [2], data: bytesOf(floats) } });
    const read = await readSafetensors(first);
    expect(read.tensors.get('w')!.data).toEqual(floats);

    const second = join(dir, 'second.safetensors');
    await writeSafetensors(second, read.tensors, read.metadata);
    expect((await readFile(second)).equals(await readFile(first))).toBe(true);
  });

  it('streams a large tensor from a subarray view', async () => {
    const path = join(dir, 'big.safetensors');
    const backing = new Float32Array(5_000_001);
    for (let i = 0; i < backing.length; i++) backing[i] = i * 0.5;
    const view = backing.subarray(1); // non-zero byteOffset: only these bytes may be written
    await writeSafetensors(path, { big: { dtype: 'F32', shape: [1000, 5000], data: view } });
    const got = (await readSafetensors(path)).tensors.get('big')!;
    expect(got.shape).toEqual([1000, 5000]);
    expect(bytesOf(got.data).equals(bytesOf(view))).toBe(true);
  });

  it('rejects bad input with INVALID_ARGUMENT naming the tensor, leaving the old file alone', async () => {
    const path = join(dir, 'keep.safetensors');
    await writeFile(path, 'old');
    const bad = (t: Record<string, unknown>) => writeSafetensors(path, t as Record<string, SafetensorsTensorInput>);
    await rejectsWith(bad({ 'w.0': { dtype: 'F32', shape: [3], data: new Float32Array(2) } }), 'INVALID_ARGUMENT', /'w\.0'.*needs 12/);
    await rejectsWith(bad({ w: { dtype: 'F32', shape: [2], data: new Float64Array(1) } }), 'INVALID_ARGUMENT', /'w'.*Float64Array/);
    await rejectsWith(bad({ w: { dtype: 'F8', shape: [1], data: new Uint8Array(1) } }), 'INVALID_ARGUMENT', /'w'.*unsupported dtype/);
    await rejectsWith(bad({ w: { dtype: 'U8', shape: [-1], data: new Uint8Array(1) } }), 'INVALID_ARGUMENT', /'w'.*shape/);
    await rejectsWith(bad({ w: { dtype: 'U8', shape: [1.5], data: new Uint8Array(1) } }), 'INVALID_ARGUMENT', /'w'.*shape/);
    await rejectsWith(bad({ w: { dtype: 'U8', shape: [1], data: [1] } }), 'INVALID_ARGUMENT', /'w'/);
    await rejectsWith(bad({ __metadata__: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }), 'INVALID_ARGUMENT', /reserved/);
    await rejectsWith(
      writeSafetensors(path, {}, { epoch: 3 } as unknown as Record<string, string>),
      'INVALID_ARGUMENT',
      /'epoch'/,
    );
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['keep.safetensors']);
  });
});

/**
 * Written by the Python library (safetensors 0.8.0, `save_file`, via `scripts/reference/selftest.py --py-out`):
 * one small tensor of every dtype, values as in that script, metadata { note: 'from python' }.
 */
const PYTHON_FILE_BASE64 =
  'YAIAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJub3RlIjoiZnJvbSBweXRob24ifSwiaTY0Ijp7ImR0eXBlIjoiSTY0Iiwic2hhcGUi' +
  'OlsyXSwiZGF0YV9vZmZzZXRzIjpbMCwxNl19LCJmNjQiOnsiZHR5cGUiOiJGNjQiLCJzaGFwZSI6WzJdLCJkYXRhX29mZnNldHMi' +
  'OlsxNiwzMl19LCJmMzIiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzNdLCJkYXRhX29mZnNldHMiOlszMiw0NF19LCJpMzIiOnsi' +
  'ZHR5cGUiOiJJMzIiLCJzaGFwZSI6WzJdLCJkYXRhX29mZnNldHMiOls0NCw1Ml19LCJiZjE2Ijp7ImR0eXBlIjoiQkYxNiIsInNo' +
  'YXBlIjpbMl0sImRhdGFfb2Zmc2V0cyI6WzUyLDU2XX0sImYxNiI6eyJkdHlwZSI6IkYxNiIsInNoYXBlIjpbMl0sImRhdGFfb2Zm' +
  'c2V0cyI6WzU2LDYwXX0sImkxNiI6eyJkdHlwZSI6IkkxNiIsInNoYXBlIjpbMl0sImRhdGFfb2Zmc2V0cyI6WzYwLDY0XX0sImk4' +
  'Ijp7ImR0eXBlIjoiSTgiLCJzaGFwZSI6WzJdLCJkYXRhX29mZnNldHMiOls2NCw2Nl19LCJ1OCI6eyJkdHlwZSI6IlU4Iiwic2hh' +
  'cGUiOlsyXSwiZGF0YV9vZmZzZXRzIjpbNjYsNjhdfSwiYm9vbCI6eyJkdHlwZSI6IkJPT0wiLCJzaGFwZSI6WzJdLCJkYXRhX29m' +
  'ZnNldHMiOls2OCw3MF19fQAAAAAA////BwAAAAAAAAAAAAAAAAD4PwAAAAAAAADAAACAPgAAgL8AAEBA+////wYAAACAPwDAADwA' +
  'wNT+LAH5B8gBAQA=';

describe('interchange with the Python safetensors library', () => {
  it('reads a file the Python library wrote, and writes it back byte for byte', async () => {
    const original = Buffer.from(PYTHON_FILE_BASE64, 'base64');
    const path = join(dir, 'python.safetensors');
    await writeFile(path, original);
    const { metadata, tensors } = await readSafetensors(path);
    expect(metadata).toEqual({ note: 'from python' });
    const values = Object.fromEntries([...tensors].map(([name, t]) => [name, [t.dtype, t.shape, Array.from(t.data as ArrayLike<number | bigint>)]]));
    expect(values).toEqual({
      i64: ['I64', [2], [-(2n ** 40n), 7n]],
      f64: ['F64', [2], [1.5, -2]],
      f32: ['F32', [3], [0.25, -1, 3]],
      i32: ['I32', [2], [-5, 6]],
      bf16: ['BF16', [2], [0x3f80, 0xc000]],
      f16: ['F16', [2], [0x3c00, 0xc000]],
      i16: ['I16', [2], [-300, 300]],
      i8: ['I8', [2], [-7, 7]],
      u8: ['U8', [2], [200, 1]],
      bool: ['BOOL', [2], [1, 0]],
    });
    const copy = join(dir, 'copy.safetensors');
    await writeSafetensors(copy, tensors, metadata);
    expect((await readFile(copy)).equals(original)).toBe(true);
  });
});

describe('reading files made by hand', () => {
  it('reads an unpadded file with unaligned tensors, byte by byte as specified', async () => {
    const header =
      '{"__metadata__":{"format":"pt"},' +
      '"ids":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},' +
      '"weight":{"dtype":"F32","shape":[2,2],"data_offsets":[3,19]},' +
      '"step":{"dtype":"I64","shape":[],"data_offsets":[19,27]},' +
      '"half":{"dtype":"BF16","shape":[2],"data_offsets":[27,31]}}';
    // prettier-ignore
    const data = [
      7, 8, 9,                                            // ids
      0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0,     // 1.0, -2.5 (IEEE-754 binary32, little-endian)
      0x00, 0x00, 0x00, 0x3e, 0x00, 0x00, 0xc8, 0x42,     // 0.125, 100.0
      0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,     // int64 -2
      0x80, 0x3f, 0x00, 0xc0,                             // bf16 1.0, -2.0
    ];
    const path = await handMade(header, data);
    const { metadata, tensors } = await readSafetensors(path);
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.keys()]).toEqual(['ids', 'weight', 'step', 'half']);
    expect(tensors.get('ids')).toEqual({ dtype: 'U8', shape: [3], data: new Uint8Array([7, 8, 9]) });
    expect(tensors.get('weight')).toEqual({ dtype: 'F32', shape: [2, 2], data: new Float32Array([1, -2.5, 0.125, 100]) });
    expect(tensors.get('step')).toEqual({ dtype: 'I64', shape: [], data: new BigInt64Array([-2n]) });
    expect(tensors.get('half')).toEqual({ dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc000]) });

    const info = await readSafetensorsHeader(path);
    expect(info.dataStart).toBe(8 + Buffer.byteLength(header));
    expect(info.dataLength).toBe(31);
    expect(info.tensors.get('step')).toEqual({ dtype: 'I64', shape: [], dataOffsets: [19, 27] });
  });

  it('accepts a file with no tensors and a null __metadata__', async () => {
    expect(await readSafetensors(await handMade('{}   '))).toEqual({ metadata: {}, tensors: new Map() });
    expect((await readSafetensors(await handMade({ __metadata__: null }))).metadata).toEqual({});
  });
});

describe('corrupt files', () => {
  async function validFile(): Promise<Buffer> {
    const path = join(dir, 'valid.safetensors');
    await writeSafetensors(path, {
      'mixerblocks.0.conv.weight': { dtype: 'F32', shape: [4, 4, 1], data: new Float32Array(16).fill(1) },
      'wte.weight': { dtype: 'F32', shape: [2, 4], data: new Float32Array(8).fill(2) },
    });
    return readFile(path);
  }

  async function expectInvalid(path: string, message?: RegExp): Promise<void> {
    await rejectsWith(readSafetensors(path), 'CHECKPOINT_INVALID', message);
    await rejectsWith(readSafetensorsHeader(path), 'CHECKPOINT_INVALID', message);
  }

  it('reports a missing file as NOT_FOUND', async () => {
    await rejectsWith(readSafetensors(join(dir, 'nope.safetensors')), 'NOT_FOUND');
    await rejectsWith(readSafetensorsHeader(join(dir, 'nope', 'x.safetensors')), 'NOT_FOUND');
  });

  it('rejects truncated files, naming the tensor that runs past the end', async () => {
    const raw = await validFile();
    const cut = join(dir, 'cut.safetensors');
    await writeFile(cut, raw.subarray(0, raw.length - 5));
    await expectInvalid(cut, /'wte\.weight'.*beyond/);
    await writeFile(cut, raw.subarray(0, 20)); // inside the header
    await expectInvalid(cut, /header length/);
    await writeFile(cut, raw.subarray(0, 5));
    await expectInvalid(cut, /too short/);
    await writeFile(cut, Buffer.alloc(0));
    await expectInvalid(cut, /too short/);
  });

  it('rejects impossible header lengths', async () => {
    const raw = await validFile();
    const path = join(dir, 'len.safetensors');
    const patched = Buffer.from(raw);
    patched.writeBigUInt64LE(BigInt(raw.length - 7), 0);
    await writeFile(path, patched);
    await expectInvalid(path, /header length/);
    patched.writeBigUInt64LE(2n ** 64n - 1n, 0);
    await writeFile(path, patched);
    await expectInvalid(path, /header length/);
    patched.writeBigUInt64LE(4n, 0); // inside the JSON: a fragment that does not parse
    await writeFile(path, patched);
    await expectInvalid(path, /not valid JSON/);
  });

  it('rejects malformed headers', async () => {
    await expectInvalid(await handMade('{"a": {"dtype": "F32",'), /not valid JSON/);
    await expectInvalid(await handMade('[1, 2]'), /not a JSON object/);
    await expectInvalid(await handMade(Buffer.from([0x7b, 0xff, 0x7d]).toString('latin1')), /UTF-8|JSON/);
    await expectInvalid(await handMade({ __metadata__: { epoch: 3 } }), /'epoch'/);
    await expectInvalid(await handMade({ w: [1, 2] }), /'w'/);
  });

  it('rejects bad dtypes, shapes and offsets, naming the tensor', async () => {
    const eight = new Array(16).fill(0);
    const cases: Array<[unknown, RegExp]> = [
      [{ w: { dtype: 'Q7', shape: [2], data_offsets: [0, 8] } }, /'w'.*unsupported dtype "Q7"/],
      [{ w: { dtype: 'U16', shape: [2], data_offsets: [0, 4] } }, /'w'.*unsupported dtype "U16"/],
      [{ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, /'w'.*8 bytes.*needs 12/],
      [{ w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, /'w'.*shape/],
      [{ w: { dtype: 'F32', shape: '2', data_offsets: [0, 8] } }, /'w'.*shape/],
      [{ w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, /'w'.*end before begin/],
      [{ w: { dtype: 'F32', shape: [2], data_offsets: [0] } }, /'w'.*data_offsets/],
      [{ w: { dtype: 'F32', shape: [2], data_offsets: [-8, 0] } }, /'w'.*data_offsets/],
      [{ w: { dtype: 'F32', shape: [4], data_offsets: [4, 20] } }, /'w'.*beyond the 16-byte/],
      [{ w: { dtype: 'F32', shape: [2] } }, /'w'.*data_offsets/],
      [
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        /'b'.*overlap.*'a'/,
      ],
      [
        {
          a: { dtype: 'I32', shape: [4], data_offsets: [0, 16] },
          b: { dtype: 'I16', shape: [2], data_offsets: [8, 12] },
        },
        /overlap/,
      ],
    ];
    for (const [header, message] of cases) await expectInvalid(await handMade(header, eight), message);
  });

  it('allows empty tensors anywhere and gaps between tensors', async () => {
    const path = await handMade(
      {
        e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] },
        a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] },
        b: { dtype: 'U8', shape: [2], data_offsets: [6, 8] },
      },
      [1, 2, 0, 0, 0, 0, 3, 4],
    );
    const { tensors } = await readSafetensors(path);
    expect([...tensors.keys()]).toEqual(['a', 'e', 'b']);
    expect(tensors.get('b')!.data).toEqual(new Uint8Array([3, 4]));
    expect(tensors.get('e')!.data).toEqual(new Float32Array(0));
  });
});
