// Token shards: pre-tokenisation into shard files and the streaming, resumable batch loader over them.
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { loadBrownCorpus } from '../../lib/data/brown.js';
import { packSequences } from '../../lib/data/corpus.js';
import { readDocuments } from '../../lib/data/read-documents.js';
import { IndexPermutation } from '../../lib/data/shards/index-permutation.js';
import { ShardBatchLoader } from '../../lib/data/shards/shard-batches.js';
import { documentTableOffset, SHARD_HEADER_BYTES } from '../../lib/data/shards/shard-format.js';
import { readShardManifest, type ShardManifest } from '../../lib/data/shards/shard-manifest.js';
import { writeTokenShards, type ShardProgress, type TokenEncoder } from '../../lib/data/shards/shard-writer.js';
import { isValidationText } from '../../lib/data/shards/text-hash-split.js';
import { verifyTokenShards } from '../../lib/data/shards/verify-shards.js';
import { trainBpeTokenizer } from '../../lib/tokenizer/bpe-trainer.js';
import { Tokenizer } from '../../lib/tokenizer/tokenizer.js';
import { writeTextParquet } from './parquet-fixture.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'maskmix-shards-'));

/** Reads a whole loader epoch in stored order, the simplest view of its token stream. */
function allRows(loader: ShardBatchLoader): Int32Array {
  return loader.readRows(0, loader.numSequences);
}

/** An encoder whose ids spell each character's code point: easy to predict, and any vocabulary size. */
function codePointEncoder(vocabSize: number, eosId = 0): TokenEncoder {
  return {
    vocabSize,
    eosId,
    async encodeBatch(texts) {
      return texts.map((t) => [...t].map((c) => (c.codePointAt(0)! * 7919) % (vocabSize - 1) + 1));
    },
  };
}

describe('token shards from a real tokenizer', () => {
  let tokenizer: Tokenizer;
  let docs: string[];
  let dir: string;
  let manifest: ShardManifest;
  const progress: ShardProgress[] = [];

  beforeAll(async () => {
    const brown = loadBrownCorpus({ maxDocuments: 60 });
    tokenizer = Tokenizer.fromJSON(trainBpeTokenizer(brown.slice(0, 40), { vocabSize: 600 }));
    // Paragraphs make many documents of varied length; an empty one checks skipping.
    docs = [...brown.slice(40).flatMap((d) => d.split('\n\n')), ''];
    dir = join(tmp(), 'shards');
    manifest = await writeTokenShards(docs, {
      outDir: dir,
      tokenizer,
      valFraction: 0.2,
      seed: 7,
      shardTokens: 5000, // several shards, so rows cross shard boundaries
      encodeBatchSize: 64,
      onProgress: (p) => progress.push(p),
    });
  });

  it('writes uint16 shards, a manifest and the tokenizer, with counts that add up', async () => {
    expect(manifest).toMatchObject({ format: 'maskmix-token-shards', vocabSize: 600, dtype: 'uint16', eosId: tokenizer.eosId, skippedDocuments: 1 });
    expect(manifest.train.shards.length).toBeGreaterThan(3);
    expect(manifest.val.shards.length).toBeGreaterThan(0);
    expect(manifest.train.documents + manifest.val.documents).toBe(docs.length - 1);
    expect(readShardManifest(dir)).toEqual(manifest);
    expect(readFileSync(join(dir, 'tokenizer.json'), 'utf8')).toBe(tokenizer.toJSON());
    for (const s of manifest.train.shards.slice(0, -1)) expect(s.tokens).toBe(5000);
    for (const s of [...manifest.train.shards, ...manifest.val.shards]) expect(statSync(join(dir, s.file)).size).toBe(s.bytes);
    expect(await verifyTokenShards(dir)).toEqual(manifest);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('round-trips: the loader reads exactly the tokens packSequences makes from the same documents', async () => {
    const encoded = await tokenizer.encodeBatch(docs);
    for (const split of ['train', 'val'] as const) {
      const mine = docs.map((d, i) => ({ d, ids: encoded[i] })).filter(({ d, ids }) => ids.length > 0 && isValidationText(d, 7, 0.2) === (split === 'val'));
      const packed = packSequences(mine.map((m) => m.ids), { context: 64, eosId: tokenizer.eosId });
      const loader = ShardBatchLoader.open(dir, { split, batchSize: 4, context: 64, shuffle: false });
      expect(loader.numSequences).toBe(packed.numSequences);
      expect(loader.tokens).toBe(packed.realTokens);
      expect(allRows(loader)).toEqual(packed.data);
      expect(loader.toPackedSequences()).toEqual(packed);
      loader.close();
    }
  });

  it('records where every document ends, and ends each with end-of-text', async () => {
    const encoded = (await tokenizer.encodeBatch(docs)).filter((ids, i) => ids.length > 0 && !isValidationText(docs[i], 7, 0.2));
    const ends: number[] = [];
    let base = 0;
    for (const shard of manifest.train.shards) {
      const bytes = readFileSync(join(dir, shard.file));
      const table = new Uint32Array(bytes.buffer.slice(bytes.byteOffset + documentTableOffset({ dtype: 'uint16', tokens: shard.tokens })));
      for (const end of table) ends.push(base + end);
      base += shard.tokens;
    }
    let at = 0;
    expect(ends).toEqual(encoded.map((ids) => (at += ids.length + 1)));
    const stream = ShardBatchLoader.open(dir, { batchSize: 1, context: 1, shuffle: false }).readRows(0, base);
    for (const end of ends) expect(stream[end - 1]).toBe(tokenizer.eosId);
  });

  it('reports progress: documents, tokens and tokens/s, ending at the manifest totals', () => {
    expect(progress.length).toBeGreaterThan(2);
    for (let i = 1; i < progress.length; i++) expect(progress[i].tokens).toBeGreaterThanOrEqual(progress[i - 1].tokens);
    const last = progress[progress.length - 1];
    expect(last).toMatchObject({ documents: docs.length, tokens: manifest.train.tokens + manifest.val.tokens, trainTokens: manifest.train.tokens });
    expect(last.shards).toBe(manifest.train.shards.length + manifest.val.shards.length);
    expect(last.tokensPerSecond).toBeGreaterThan(0);
  });

  it('splits by document: disjoint, deterministic, independent of order, duplicates on one side', async () => {
    const decodeDocs = async (split: 'train' | 'val') => {
      const stream = Array.from(ShardBatchLoader.open(dir, { split, batchSize: 1, context: 1, shuffle: false }).readRows(0, manifest[split].tokens));
      const out: string[] = [];
      for (let start = 0, i = 0; i < stream.length; i++) {
        if (stream[i] === tokenizer.eosId) {
          out.push(await tokenizer.decode(stream.slice(start, i)));
          start = i + 1;
        }
      }
      return out;
    };
    const train = await decodeDocs('train');
    const val = await decodeDocs('val');
    expect(train.length).toBe(manifest.train.documents);
    expect(val.length).toBe(manifest.val.documents);
    expect(val.length / (train.length + val.length)).toBeGreaterThan(0.1);
    expect(val.length / (train.length + val.length)).toBeLessThan(0.3);
    const trainSet = new Set(train);
    expect(val.filter((d) => trainSet.has(d))).toEqual([]);

    // Reversed input order and a duplicated document: the same documents on each side, duplicates together.
    const again = join(tmp(), 'again');
    const dup = docs[3];
    const second = await writeTokenShards([...docs].reverse().concat([dup]), { outDir: again, tokenizer, valFraction: 0.2, seed: 7 });
    expect(second.val.documents).toBe(manifest.val.documents + (isValidationText(dup, 7, 0.2) ? 1 : 0));
    expect(second.train.tokens + second.val.tokens).toBe(manifest.train.tokens + manifest.val.tokens + (await tokenizer.encode(dup)).length + 1);
    // Same input, same seed: byte-identical shards. Another seed: another split.
    const same = await writeTokenShards(docs, { outDir: join(tmp(), 'same'), tokenizer, valFraction: 0.2, seed: 7, shardTokens: 5000 });
    expect({ ...same, createdAt: '' }).toEqual({ ...manifest, createdAt: '' });
    const other = await writeTokenShards(docs, { outDir: join(tmp(), 'other'), tokenizer, valFraction: 0.2, seed: 8 });
    expect(other.val.tokens).not.toBe(manifest.val.tokens);
  });

  it('shuffles deterministically: every row once per epoch, a new order each epoch, the same for the same seed', () => {
    const open = (seed: number) => ShardBatchLoader.open(dir, { batchSize: 8, context: 32, seed });
    const loader = open(1);
    const rows = allRows(loader);
    const n = loader.numSequences;
    const rowKey = (data: Int32Array, r: number) => data.subarray(r * 32, (r + 1) * 32).join(',');
    const expected = new Map<string, number>();
    for (let r = 0; r < n; r++) expected.set(rowKey(rows, r), (expected.get(rowKey(rows, r)) ?? 0) + 1);
    const epochOrders: number[][] = [];
    for (let epoch = 0; epoch < 2; epoch++) {
      const seen = new Map<string, number>();
      const order: number[] = [];
      for (let i = 0; i < n; i++) order.push(loader.rowAt(epoch, i));
      epochOrders.push(order);
      expect(new Set(order).size).toBe(n);
      for (const r of order) seen.set(rowKey(rows, r), (seen.get(rowKey(rows, r)) ?? 0) + 1);
      expect(seen).toEqual(expected);
    }
    expect(epochOrders[0]).not.toEqual(epochOrders[1]);
    expect(epochOrders[0]).not.toEqual([...Array(n).keys()]);
    // Batches are the rows in epoch order.
    const first = loader.nextBatch();
    for (let row = 0; row < 8; row++) expect(first.subarray(row * 32, (row + 1) * 32)).toEqual(rows.subarray(epochOrders[0][row] * 32, (epochOrders[0][row] + 1) * 32));
    expect(open(1).nextBatch()).toEqual(first);
    expect(open(2).nextBatch()).not.toEqual(first);
  });

  it('resumes exactly: a loader started at a saved position continues with the identical batches, across epochs', () => {
    const options = { batchSize: 5, context: 48, seed: 3 };
    const a = ShardBatchLoader.open(dir, options);
    const perEpoch = Math.ceil(a.batchesPerEpoch);
    for (let i = 0; i < perEpoch - 1; i++) a.nextBatch();
    const saved = JSON.parse(JSON.stringify(a.position));
    const continuation = Array.from({ length: 4 }, () => a.nextBatch());
    expect(a.position.epoch).toBe(1);
    const b = ShardBatchLoader.open(dir, { ...options, start: saved });
    expect(b.position).toEqual(saved);
    expect(Array.from({ length: 4 }, () => b.nextBatch())).toEqual(continuation);
    // The batch size is not part of the position: a resumed run with other batches sees the same row stream.
    const c = ShardBatchLoader.open(dir, { ...options, batchSize: 10, start: saved });
    const joined = new Int32Array(20 * 48);
    continuation.forEach((batch, i) => joined.set(batch, i * 5 * 48));
    expect([c.nextBatch(), c.nextBatch()]).toEqual([joined.subarray(0, 10 * 48), joined.subarray(10 * 48)]);
    // A position of another context or seed is refused, and so are positions out of range.
    expect(() => ShardBatchLoader.open(dir, { ...options, seed: 4, start: saved })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => ShardBatchLoader.open(dir, { ...options, context: 47, start: saved })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => b.seek({ epoch: 0, index: b.numSequences })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => b.seek({ epoch: -1, index: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    for (const l of [a, b, c]) l.close();
  });

  it('reads Parquet and JSONL sources into the same shards as the documents themselves', async () => {
    const src = tmp();
    const some = docs.filter((d) => d.length > 0).slice(0, 40);
    writeTextParquet(join(src, 'part-0.parquet'), some.slice(0, 25), { codec: 'ZSTD', rowGroupSize: 10 });
    writeFileSync(join(src, 'part-1.jsonl'), some.slice(25).map((text) => JSON.stringify({ text })).join('\n'));
    const fromFiles = await writeTokenShards(readDocuments(src), { outDir: join(tmp(), 'f'), tokenizer, valFraction: 0.2, seed: 1 });
    const direct = await writeTokenShards(some, { outDir: join(tmp(), 'd'), tokenizer, valFraction: 0.2, seed: 1 });
    expect({ ...fromFiles, createdAt: '' }).toEqual({ ...direct, createdAt: '' });
  });
});

describe('token shards: dtypes, errors and corruption', () => {
  const docs = ['alpha beta', 'gamma', 'delta epsilon zeta', 'eta theta', 'iota'];

  it('stores ids as uint32 when the vocabulary exceeds 65536, and round-trips them', async () => {
    const dir = join(tmp(), 's');
    const encoder = codePointEncoder(70_000);
    const manifest = await writeTokenShards(docs, { outDir: dir, tokenizer: encoder, valFraction: 0, shardTokens: 7 });
    expect(manifest.dtype).toBe('uint32');
    expect(manifest.val).toEqual({ tokens: 0, documents: 0, shards: [] });
    const ids = (await encoder.encodeBatch(docs)).flatMap((d) => [...d, 0]);
    expect(ids.some((id) => id > 65535)).toBe(true);
    const loader = ShardBatchLoader.open(dir, { batchSize: 2, context: 3, shuffle: false });
    expect(Array.from(loader.readRows(0, loader.numSequences))).toEqual([...ids, ...Array(loader.numSequences * 3 - ids.length).fill(0)]);
    expect(() => ShardBatchLoader.open(dir, { split: 'val', batchSize: 2, context: 3 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    // 7 tokens of 4 bytes padded to 32; no document ends in the first shard ('alpha beta' + eos is 11 tokens).
    expect(statSync(join(dir, 'train-00000.bin')).size).toBe(SHARD_HEADER_BYTES + 32);
    expect(statSync(join(dir, 'train-00001.bin')).size).toBe(SHARD_HEADER_BYTES + 32 + 4);
  });

  it('gives DATA_INVALID for a truncated shard, a corrupt id, a wrong magic or a missing shard; NOT_FOUND without manifest', async () => {
    const make = async () => {
      const dir = join(tmp(), 's');
      await writeTokenShards(docs, { outDir: dir, tokenizer: codePointEncoder(300), valFraction: 0, shardTokens: 16 });
      return dir;
    };
    const firstBatch = (dir: string) => ShardBatchLoader.open(dir, { batchSize: 4, context: 8, shuffle: false }).nextBatch();

    let dir = await make();
    truncateSync(join(dir, 'train-00001.bin'), 70);
    expect(() => firstBatch(dir)).toThrow(expect.objectContaining({ code: 'DATA_INVALID', message: expect.stringMatching(/train-00001\.bin .*truncated/) }));

    dir = await make();
    const fd = openSync(join(dir, 'train-00000.bin'), 'r+');
    writeSync(fd, new Uint8Array([0xff, 0xff]), 0, 2, SHARD_HEADER_BYTES + 2 * 3); // token 3 := 65535 ≥ 300
    closeSync(fd);
    expect(() => firstBatch(dir)).toThrow(expect.objectContaining({ code: 'DATA_INVALID', message: expect.stringMatching(/train-00000\.bin is corrupt: token 3 is 65535/) }));

    dir = await make();
    const fd2 = openSync(join(dir, 'train-00000.bin'), 'r+');
    writeSync(fd2, new Uint8Array([1]), 0, 1, SHARD_HEADER_BYTES); // still a valid id: only the checksum can tell
    closeSync(fd2);
    expect(() => firstBatch(dir)).not.toThrow();
    await expect(verifyTokenShards(dir)).rejects.toMatchObject({ code: 'DATA_INVALID', message: expect.stringMatching(/train-00000\.bin is corrupt/) });

    dir = await make();
    writeFileSync(join(dir, 'train-00000.bin'), Buffer.concat([Buffer.from('NOTASHRD'), readFileSync(join(dir, 'train-00000.bin')).subarray(8)]));
    expect(() => firstBatch(dir)).toThrow(expect.objectContaining({ code: 'DATA_INVALID', message: expect.stringMatching(/magic/) }));

    dir = await make();
    writeFileSync(join(dir, 'train-00000.bin'), readFileSync(join(dir, 'train-00001.bin')));
    expect(() => firstBatch(dir)).toThrow(expect.objectContaining({ code: 'DATA_INVALID', message: expect.stringMatching(/does not match the manifest/) }));

    dir = await make();
    writeFileSync(join(dir, 'train-00000.bin'), '');
    expect(() => firstBatch(dir)).toThrow(expect.objectContaining({ code: 'DATA_INVALID' }));

    dir = await make();
    truncateSync(join(dir, 'train-00000.bin'), 0);
    expect(() => firstBatch(dir)).toThrow(expect.objectContaining({ code: 'DATA_INVALID' }));

    dir = await make();
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'train-00001.bin'));
    expect(() => firstBatch(dir)).toThrow(expect.objectContaining({ code: 'DATA_INVALID', message: expect.stringMatching(/missing/) }));
    await expect(verifyTokenShards(dir)).rejects.toMatchObject({ code: 'DATA_INVALID' });

    dir = await make();
    rmSync(join(dir, 'manifest.json'));
    expect(() => firstBatch(dir)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('gives DATA_INVALID naming the field for a malformed manifest', async () => {
    const dir = join(tmp(), 's');
    await writeTokenShards(docs, { outDir: dir, tokenizer: codePointEncoder(300), valFraction: 0 });
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, dtype: 'int8' }));
    expect(() => readShardManifest(dir)).toThrow(expect.objectContaining({ code: 'DATA_INVALID', message: expect.stringMatching(/dtype/) }));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, train: { ...manifest.train, tokens: 1 } }));
    expect(() => readShardManifest(dir)).toThrow(expect.objectContaining({ code: 'DATA_INVALID', message: expect.stringMatching(/add up/) }));
    writeFileSync(join(dir, 'manifest.json'), '{ not json');
    expect(() => readShardManifest(dir)).toThrow(expect.objectContaining({ code: 'DATA_INVALID' }));
  });

  it('rejects bad options, a non-empty folder and out-of-range ids; a failing source leaves no manifest', async () => {
    const encoder = codePointEncoder(300);
    const dir = join(tmp(), 's');
    await writeTokenShards(docs, { outDir: dir, tokenizer: encoder });
    await expect(writeTokenShards(docs, { outDir: dir, tokenizer: encoder })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/already holds files/) });
    const aFile = join(tmp(), 'file');
    writeFileSync(aFile, 'x');
    await expect(writeTokenShards(docs, { outDir: aFile, tokenizer: encoder })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/is a file/) });
    const fresh = () => join(tmp(), 'x');
    await expect(writeTokenShards(docs, { outDir: fresh(), tokenizer: encoder, valFraction: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(writeTokenShards(docs, { outDir: fresh(), tokenizer: encoder, shardTokens: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(writeTokenShards(docs, { outDir: fresh(), tokenizer: {} as TokenEncoder })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(writeTokenShards(docs, { outDir: fresh(), tokenizer: { ...encoder, eosId: 300 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const liar: TokenEncoder = { vocabSize: 10, eosId: 0, encodeBatch: async (t) => t.map(() => [3, 12]) };
    await expect(writeTokenShards(docs, { outDir: fresh(), tokenizer: liar })).rejects.toMatchObject({ code: 'TOKEN_OUT_OF_RANGE', message: expect.stringMatching(/document 0/) });
    const src = join(tmp(), 'bad.jsonl');
    writeFileSync(src, '{"text":"fine"}\n{"txt":"oops"}\n');
    const out = fresh();
    await expect(writeTokenShards(readDocuments(src), { outDir: out, tokenizer: encoder })).rejects.toMatchObject({ code: 'DATA_INVALID', message: expect.stringMatching(/bad\.jsonl:2/) });
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
    expect(() => ShardBatchLoader.open(dir, { batchSize: 0, context: 4 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => ShardBatchLoader.open(dir, { batchSize: 1, context: 4, split: 'test' as never })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('streams from disk: reading a shard folder many times the batch size does not grow memory by the corpus', async () => {
    const dir = join(tmp(), 'big');
    // 24 M tokens (48 MB of uint16) written in shards of 2 M; the encoder hands out long documents quickly.
    const doc = Array.from({ length: 100_000 }, (_, i) => (i * 31) % 299 + 1);
    const encoder: TokenEncoder = { vocabSize: 300, eosId: 0, encodeBatch: async (texts) => texts.map(() => doc) };
    await writeTokenShards(Array(240).fill('x'), { outDir: dir, tokenizer: encoder, valFraction: 0, shardTokens: 2_000_000, encodeBatchSize: 8 });
    global.gc?.();
    const before = process.memoryUsage();
    const loader = ShardBatchLoader.open(dir, { batchSize: 16, context: 256, seed: 5 });
    let sum = 0;
    for (let i = 0; i < 500; i++) sum += loader.nextBatch()[0];
    const after = process.memoryUsage();
    expect(sum).toBeGreaterThan(0);
    expect(loader.tokens).toBe(240 * 100_001);
    // The corpus is 48 MB; the loader's own buffers are a few kilobytes.
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(8 * 2 ** 20);
    expect(after.rss - before.rss).toBeLessThan(40 * 2 ** 20);
    loader.close();
  });
});

describe('IndexPermutation', () => {
  it('is a bijection of 0 … n-1 for every size, fixed by the seed', () => {
    for (const n of [1, 2, 3, 5, 16, 17, 100, 1000, 4097]) {
      const p = new IndexPermutation(n, 42);
      const values = Array.from({ length: n }, (_, i) => p.at(i));
      expect(new Set(values).size).toBe(n);
      expect(Math.min(...values)).toBe(0);
      expect(Math.max(...values)).toBe(n - 1);
      expect(Array.from({ length: n }, (_, i) => new IndexPermutation(n, 42).at(i))).toEqual(values);
    }
  });

  it('looks random: few fixed points, seeds give different orders, works near 2^31', () => {
    const n = 10_000;
    const a = new IndexPermutation(n, 1);
    const b = new IndexPermutation(n, 2);
    let fixed = 0;
    let same = 0;
    for (let i = 0; i < n; i++) {
      if (a.at(i) === i) fixed++;
      if (a.at(i) === b.at(i)) same++;
    }
    expect(fixed).toBeLessThan(10);
    expect(same).toBeLessThan(10);
    const big = new IndexPermutation(2 ** 31, 9);
    const sample = [0, 1, 2 ** 31 - 1, 123_456_789].map((i) => big.at(i));
    for (const v of sample) expect(v >= 0 && v < 2 ** 31).toBe(true);
    expect(new Set(sample).size).toBe(4);
    expect(() => new IndexPermutation(0, 1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => a.at(n)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
