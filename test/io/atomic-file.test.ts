import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MaskmixError } from '../../lib/errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../../lib/io/atomic-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maskmix-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Rejects with a MaskmixError of `code`; returns it for further checks. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<MaskmixError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MaskmixError);
  expect((err as MaskmixError).code).toBe(code);
  return err as MaskmixError;
}

describe('writeFileAtomic', () => {
  it('writes strings, byte views, typed arrays and (async) chunk sequences', async () => {
    const target = join(dir, 'out.bin');
    await writeFileAtomic(target, 'héllo');
    expect(await readFile(target, 'utf8')).toBe('héllo');

    await writeFileAtomic(target, Buffer.from([1, 2, 3]));
    expect([...(await readFile(target))]).toEqual([1, 2, 3]);

    // A typed array is written as its own bytes, not as the whole underlying ArrayBuffer.
    const backing = new Float32Array([9, 1.5, -2, 9]);
    await writeFileAtomic(target, backing.subarray(1, 3));
    expect(new Float32Array(new Uint8Array(await readFile(target)).buffer)).toEqual(new Float32Array([1.5, -2]));

    await writeFileAtomic(target, [Buffer.from('ab'), new Uint8Array([0x63]), Buffer.alloc(0)]);
    expect(await readFile(target, 'utf8')).toBe('abc');

    async function* parts() {
      yield Buffer.from('x');
      await new Promise((r) => setTimeout(r, 1));
      yield Buffer.from('yz');
    }
    await writeFileAtomic(target, parts());
    expect(await readFile(target, 'utf8')).toBe('xyz');
    expect(await readdir(dir)).toEqual(['out.bin']);
  });

  it('leaves the old file intact and no temporary file when the data iterator throws midway', async () => {
    const target = join(dir, 'model.safetensors');
    await writeFile(target, 'previous contents');
    const boom = new Error('disk gremlin');
    function* failing() {
      yield Buffer.alloc(1 << 20, 1);
      yield Buffer.alloc(1 << 20, 2);
      throw boom;
    }
    await expect(writeFileAtomic(target, failing())).rejects.toBe(boom);
    expect(await readFile(target, 'utf8')).toBe('previous contents');
    expect(await readdir(dir)).toEqual(['model.safetensors']);
  });

  it('creates nothing when a first write fails midway', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('partial');
      throw new Error('interrupted');
    }
    await expect(writeFileAtomic(join(dir, 'new.bin'), failing())).rejects.toThrow('interrupted');
    expect(await readdir(dir)).toEqual([]);
  });

  it('rejects a chunk that is not a byte view and cleans up', async () => {
    const target = join(dir, 'a.bin');
    await writeFile(target, 'old');
    await rejectsWith(writeFileAtomic(target, [Buffer.from('x'), 42 as unknown as Uint8Array]), 'INVALID_ARGUMENT');
    expect(await readFile(target, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['a.bin']);
  });

  it('removes the temporary file when the final rename fails', async () => {
    const target = join(dir, 'occupied');
    await mkdir(target);
    await writeFile(join(target, 'inside'), 'keep');
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['occupied']);
    expect(await readFile(join(target, 'inside'), 'utf8')).toBe('keep');
  });

  it('reports a missing directory as NOT_FOUND', async () => {
    await rejectsWith(writeFileAtomic(join(dir, 'no', 'such', 'file'), 'x'), 'NOT_FOUND');
  });

  it('lets concurrent writers of one target finish with one complete version', async () => {
    const target = join(dir, 'race.txt');
    const versions = Array.from({ length: 8 }, (_, i) => `version ${i} `.repeat(10_000));
    await Promise.all(versions.map((v) => writeFileAtomic(target, v)));
    expect(versions).toContain(await readFile(target, 'utf8'));
    expect(await readdir(dir)).toEqual(['race.txt']);
  });
});

describe('writeJsonAtomic', () => {
  it('writes indented JSON with a trailing newline', async () => {
    const target = join(dir, 'config.json');
    await writeJsonAtomic(target, { model: 'mixer', dModel: 64 });
    const text = await readFile(target, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual({ model: 'mixer', dModel: 64 });
    await writeJsonAtomic(target, [1, 2], { indent: 0 });
    expect(await readFile(target, 'utf8')).toBe('[1,2]\n');
  });

  it('rejects values JSON cannot represent without touching the old file', async () => {
    const target = join(dir, 'config.json');
    await writeFile(target, '{"keep":true}');
    await rejectsWith(writeJsonAtomic(target, undefined), 'INVALID_ARGUMENT');
    await rejectsWith(writeJsonAtomic(target, { n: 1n }), 'INVALID_ARGUMENT');
    expect(await readFile(target, 'utf8')).toBe('{"keep":true}');
    expect(await readdir(dir)).toEqual(['config.json']);
  });
});
