// Token shards keep a validation document (and a train one) when the text-hash split alone would leave a side empty.
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { emptySplitReason, ShardBatchLoader } from '../../lib/data/shards/shard-batches.js';
import { readShardManifest, type ShardManifest } from '../../lib/data/shards/shard-manifest.js';
import { NonEmptySplit } from '../../lib/data/shards/non-empty-split.js';
import { writeTokenShards, type TokenEncoder } from '../../lib/data/shards/shard-writer.js';
import { textSplitScore } from '../../lib/data/shards/text-hash-split.js';
import { trainBpeTokenizer } from '../../lib/tokenizer/bpe-trainer.js';
import { Tokenizer } from '../../lib/tokenizer/tokenizer.js';
import { maskmix } from '../cli-runner.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'maskmix-split-'));

/** Routes documents [id] with the given scores and returns where each went, in arrival order per side. */
async function route(scores: number[], valFraction: number, maxHeldTokens?: number) {
  const out = { train: [] as number[], val: [] as number[] };
  const split = new NonEmptySplit(valFraction, async (side, ids) => void out[side].push(ids[0]), maxHeldTokens);
  for (const [i, score] of scores.entries()) await split.add([i], score);
  await split.finish();
  return { ...out, moved: split.moved };
}

const encoder: TokenEncoder = {
  vocabSize: 300,
  eosId: 0,
  async encodeBatch(texts) {
    return texts.map((t) => [...t].map((c) => (c.codePointAt(0)! % 299) + 1));
  },
};

describe('NonEmptySplit', () => {
  it('leaves a split that has both sides exactly as the hash made it, order included', async () => {
    expect(await route([0.9, 0.5, 0.1, 0.7, 0.05, 0.6], 0.2)).toEqual({ train: [0, 1, 3, 5], val: [2, 4], moved: undefined });
  });

  it('moves the train document nearest validation there when the hash gave validation nothing', async () => {
    expect(await route([0.9, 0.5, 0.3, 0.7], 0.01)).toEqual({ train: [0, 1, 3], val: [2], moved: { to: 'val', documents: 1 } });
  });

  it('moves the validation document nearest train there when the hash gave train nothing', async () => {
    expect(await route([0.1, 0.5, 0.3], 0.9)).toEqual({ train: [1], val: [0, 2], moved: { to: 'train', documents: 1 } });
  });

  it('gives a lone document to train, and never splits copies of one text', async () => {
    expect(await route([0.5], 0.01)).toEqual({ train: [0], val: [], moved: undefined });
    expect(await route([0.05], 0.5)).toEqual({ train: [0], val: [], moved: { to: 'train', documents: 1 } });
    expect(await route([0.4, 0.4, 0.4], 0.01)).toEqual({ train: [0, 1, 2], val: [], moved: undefined });
    // Copies of the nearest text move together.
    expect(await route([0.4, 0.2, 0.8, 0.2], 0.01)).toEqual({ train: [0, 2], val: [1, 3], moved: { to: 'val', documents: 2 } });
  });

  it('past its memory bound holds only the nearest document and still fills validation', async () => {
    const r = await route([0.9, 0.5, 0.3, 0.7, 0.2, 0.2, 0.6], 0.01, 4);
    expect(r.val).toEqual([4, 4]); // the held document is written once per copy
    expect(r.moved).toEqual({ to: 'val', documents: 2 });
    expect([...r.train].sort()).toEqual([0, 1, 2, 3, 6]);
  });

  it('records when every document is a copy of one text', async () => {
    const split = new NonEmptySplit(0.5, async () => undefined);
    for (let i = 0; i < 3; i++) await split.add([7], 0.9);
    await split.finish();
    expect(split.oneText).toBe(true);
    const lone = new NonEmptySplit(0.5, async () => undefined);
    await lone.add([7], 0.9);
    await lone.finish();
    expect(lone.oneText).toBe(false);
  });

  it('with valFraction 0 sends everything to train', async () => {
    expect(await route([0.5, 0.1], 0)).toEqual({ train: [0, 1], val: [], moved: undefined });
  });
});

describe('writeTokenShards on a small corpus', () => {
  // 30 texts of which the hash alone sends none to validation at 1% (about three in four such corpora).
  const docs = Array.from({ length: 40 }, (_, i) => `document number ${i} says ${'ab'.repeat(i % 5)}`)
    .filter((d) => textSplitScore(d, 0) >= 0.01)
    .slice(0, 30);

  it('keeps one validation document at valFraction 0.01, records the move, and the val loader opens', async () => {
    const dir = join(tmp(), 's');
    const manifest = await writeTokenShards(docs, { outDir: dir, tokenizer: encoder, valFraction: 0.01 });
    expect(manifest.val.documents).toBe(1);
    expect(manifest.train.documents).toBe(29);
    expect(manifest.split.moved).toEqual({ to: 'val', documents: 1 });
    expect(readShardManifest(dir)).toEqual(manifest);
    const nearest = [...docs].sort((a, b) => textSplitScore(a, 0) - textSplitScore(b, 0))[0];
    const loader = ShardBatchLoader.open(dir, { split: 'val', batchSize: 1, context: 4, shuffle: false });
    expect(loader.tokens).toBe(nearest.length + 1);
    loader.close();
  });

  it('explains an empty validation split by what happened', async () => {
    const dir = join(tmp(), 'z');
    await writeTokenShards(docs, { outDir: dir, tokenizer: encoder, valFraction: 0 });
    expect(() => ShardBatchLoader.open(dir, { split: 'val', batchSize: 1, context: 4 })).toThrow(/tokenized with valFraction 0/);
    // A folder written before the writer kept a validation document: 30 documents, valFraction 0.01, val empty.
    const old = { ...readShardManifest(dir), split: { by: 'text-hash', valFraction: 0.01, seed: 0 } } as ShardManifest;
    expect(emptySplitReason(old, 'val')).toMatch(/none of its 30 documents went to validation \(valFraction 0.01/);
    const one = { ...old, train: { ...old.train, documents: 1 } };
    expect(emptySplitReason(one, 'val')).toMatch(/only 1 document, too few/);
  });

  it('says a corpus of copies of one text is the reason validation is empty, in the loader and in `maskmix tokenize`', async () => {
    const root = tmp();
    const copies = Array.from({ length: 5 }, () => docs[0]);
    const dir = join(root, 'copies');
    const manifest = await writeTokenShards(copies, { outDir: dir, tokenizer: encoder, valFraction: 0.01 });
    expect(manifest.split.oneText).toBe(true);
    expect(readShardManifest(dir).split.oneText).toBe(true);
    expect(() => ShardBatchLoader.open(dir, { split: 'val', batchSize: 1, context: 4 })).toThrow(/all 5 documents are copies of one text/);
    const corpus = join(root, 'corp');
    mkdirSync(corpus);
    for (const [i, d] of copies.entries()) writeFileSync(join(corpus, `d${i}.txt`), d);
    const tokenizerFile = join(root, 'tokenizer.json');
    writeFileSync(tokenizerFile, Tokenizer.fromJSON(trainBpeTokenizer(docs, { vocabSize: 300 })).toJSON());
    const r = await maskmix('tokenize', corpus, '--tokenizer', tokenizerFile, '--out', join(root, 'shards'), '--no-progress');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the val split is empty: all 5 documents are copies of one text/);
    expect(r.stderr).not.toMatch(/re-run/);
  }, 60_000);

  it('`maskmix tokenize` says it moved a document to validation, and writes a usable val split', async () => {
    const root = tmp();
    const corpus = join(root, 'corp');
    mkdirSync(corpus);
    for (const [i, d] of docs.entries()) writeFileSync(join(corpus, `d${i}.txt`), d);
    const tokenizerFile = join(root, 'tokenizer.json');
    writeFileSync(tokenizerFile, Tokenizer.fromJSON(trainBpeTokenizer(docs, { vocabSize: 300 })).toJSON());
    const out = join(root, 'shards');
    const r = await maskmix('tokenize', corpus, '--tokenizer', tokenizerFile, '--out', out, '--no-progress');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/moved 1 document\(s\) there/);
    expect(r.stderr).toMatch(/train \d+, val [1-9]\d*\)/);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).val.documents).toBe(1);
  }, 60_000);
});
