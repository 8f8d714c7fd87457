import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { loadBrownCorpus } from '../../lib/data/brown.js';
import { splitDocuments } from '../../lib/data/corpus.js';
import { expectCodeAsync } from '../expect-code.js';
import { trainBpe, trainBpeTokenizer, type TrainedBpe } from '../../lib/tokenizer/bpe-trainer.js';
import { byteLevelPreTokenize } from '../../lib/tokenizer/byte-level.js';
import { Tokenizer } from '../../lib/tokenizer/tokenizer.js';
import { toTokenizerJson } from '../../lib/tokenizer/tokenizer-json.js';

/**
 * An independent BPE encoder: cut out special tokens, pre-tokenise, then in each word keep merging the adjacent
 * pair of lowest merge rank (all its occurrences, left to right) until no pair has a rank.
 */
function referenceEncode(trained: TrainedBpe, text: string): number[] {
  const rank = new Map(trained.merges.map(([a, b], i) => [`${a} ${b}`, i]));
  const idOf = new Map(trained.tokens.map((t, i) => [t, i]));
  const ids: number[] = [];
  const specials = new RegExp(`(${trained.specialTokens.map((s) => s.replace(/[|<>]/g, '\\$&')).join('|')})`);
  for (const piece of text.split(specials)) {
    if (trained.specialTokens.includes(piece)) {
      ids.push(idOf.get(piece)!);
      continue;
    }
    for (const word of byteLevelPreTokenize(piece)) {
      let symbols = [...word];
      for (;;) {
        let best = -1;
        for (let i = 0; i + 1 < symbols.length; i++) {
          const r = rank.get(`${symbols[i]} ${symbols[i + 1]}`);
          if (r !== undefined && (best < 0 || r < best)) best = r;
        }
        if (best < 0) break;
        const [a, b] = trained.merges[best];
        const merged: string[] = [];
        for (let i = 0; i < symbols.length; i++) {
          if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) {
            merged.push(a + b);
            i++;
          } else merged.push(symbols[i]);
        }
        symbols = merged;
      }
      for (const s of symbols) ids.push(idOf.get(s)!);
    }
  }
  return ids;
}

describe('a 4096-token tokenizer trained on Brown, used through the tokenizers library', () => {
  let trained: TrainedBpe;
  let tokenizer: Tokenizer;
  let heldOut: string[];

  beforeAll(() => {
    const { train, val } = splitDocuments(loadBrownCorpus(), { valFraction: 0.1, seed: 7 });
    heldOut = val;
    trained = trainBpe(train, { vocabSize: 4096 });
    tokenizer = Tokenizer.fromJSON(JSON.stringify(toTokenizerJson(trained)));
  });

  it('loads with the trained size and <|endoftext|> as id 0 for eos and pad', () => {
    expect(tokenizer.vocabSize).toBe(4096);
    expect(tokenizer.eosId).toBe(0);
    expect(tokenizer.padId).toBe(0);
    expect(tokenizer.idToToken(0)).toBe('<|endoftext|>');
    expect(tokenizer.tokenToId('Ġthe')).toBeGreaterThan(256);
  });

  it('round-trips held-out documents exactly', async () => {
    expect(heldOut.length).toBe(50);
    for (const doc of heldOut) expect(await tokenizer.decode(await tokenizer.encode(doc))).toBe(doc);
  });

  it('encodes held-out text exactly as applying the merges in rank order does', async () => {
    const encoded = await tokenizer.encodeBatch(heldOut);
    heldOut.forEach((doc, i) => expect(encoded[i]).toEqual(referenceEncode(trained, doc)));
    // Compression sanity: far fewer tokens than bytes.
    const bytes = heldOut.reduce((n, d) => n + Buffer.byteLength(d), 0);
    const tokens = encoded.reduce((n, ids) => n + ids.length, 0);
    expect(tokens / bytes).toBeLessThan(0.35);
  });

  it('round-trips text the corpus never had: accents, emoji, odd spacing', async () => {
    for (const text of ['Café  naïve — “quotes” 😀\n\n\ttab', '  leading and trailing  ', '日本語']) {
      const ids = await tokenizer.encode(text);
      expect(ids).toEqual(referenceEncode(trained, text));
      expect(await tokenizer.decode(ids)).toBe(text);
    }
  });

  it('encodes and decodes the special token as id 0', async () => {
    expect(await tokenizer.encode('<|endoftext|>')).toEqual([0]);
    expect(await tokenizer.decode([0])).toBe('<|endoftext|>');
    const ids = await tokenizer.encode('The end.<|endoftext|>A new start');
    expect(ids.filter((id) => id === 0)).toHaveLength(1);
    expect(ids).toEqual(referenceEncode(trained, 'The end.<|endoftext|>A new start'));
    expect(await tokenizer.decode(ids)).toBe('The end.<|endoftext|>A new start');
    expect(await tokenizer.decode(ids, { skipSpecialTokens: true })).toBe('The end.A new start');
  });

  it('encodes empty text to no ids, and decodes no ids to empty text', async () => {
    expect(await tokenizer.encode('')).toEqual([]);
    expect(await tokenizer.encodeBatch(['', 'a'])).toEqual([[], await tokenizer.encode('a')]);
    expect(await tokenizer.encodeBatch([])).toEqual([]);
    expect(await tokenizer.decode([])).toBe('');
    expect(await tokenizer.decode(new Int32Array(await tokenizer.encode('typed arrays work')))).toBe('typed arrays work');
  });

  it('rejects ids outside the vocabulary when decoding', async () => {
    for (const bad of [[4096], [-1], [1.5], [5, Number.NaN]]) await expectCodeAsync(tokenizer.decode(bad), 'TOKEN_OUT_OF_RANGE');
    expect(await tokenizer.decode([4095])).toBeTypeOf('string');
  });

  it('rejects non-string text', async () => {
    await expectCodeAsync(tokenizer.encode(42 as unknown as string), 'INVALID_ARGUMENT');
    await expectCodeAsync(tokenizer.encodeBatch(['ok', null as unknown as string]), 'INVALID_ARGUMENT');
  });

  it('saves and loads back the same tokenizer, from a file or its folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-tok-'));
    const path = join(dir, 'nested', 'tokenizer.json');
    tokenizer.save(path);
    const text = heldOut[0].slice(0, 500);
    for (const loaded of [Tokenizer.fromFile(path), Tokenizer.fromFile(join(dir, 'nested'))]) {
      expect(loaded.vocabSize).toBe(4096);
      expect(await loaded.encode(text)).toEqual(await tokenizer.encode(text));
      expect(loaded.toJSON()).toBe(tokenizer.toJSON());
    }
  });
});

describe('Tokenizer loading', () => {
  const small = () => toTokenizerJson(trainBpe(['hello world, hello tokenizer'], { vocabSize: 262, specialTokens: ['<|endoftext|>', '<pad>'] }));

  it('accepts the parsed object, and a chosen pad token', () => {
    const tokenizer = Tokenizer.fromJSON(small(), { padToken: '<pad>' });
    expect(tokenizer.eosId).toBe(0);
    expect(tokenizer.padId).toBe(1);
    expect(tokenizer.vocabSize).toBe(262);
  });

  it('reads merges in the newer pair form too', async () => {
    const json = small();
    const pairs = { ...json, model: { ...json.model, merges: json.model.merges.map((m) => m.split(' ')) } };
    const a = Tokenizer.fromJSON(json);
    const b = Tokenizer.fromJSON(pairs);
    expect(await b.encode('hello world')).toEqual(await a.encode('hello world'));
  });

  it('matches the reference encoder on text the trainer had to split with the library (non-Latin scripts)', async () => {
    const docs = ['日本語のテキストです。日本語は面白い。', 'Ελληνικά κείμενα και 日本語 😀😀😀', 'ქართული ენა ქართული'];
    const trained = trainBpe(docs, { vocabSize: 300 });
    const tokenizer = Tokenizer.fromJSON(toTokenizerJson(trained));
    for (const text of [...docs, '日本語のテキスト 😀 ქართული']) {
      const ids = await tokenizer.encode(text);
      expect(ids).toEqual(referenceEncode(trained, text));
      expect(await tokenizer.decode(ids)).toBe(text);
    }
  });

  it('falls back to the first special token as eos when there is no <|endoftext|>', () => {
    const json = trainBpeTokenizer(['some text here'], { vocabSize: 258, specialTokens: ['</s>'] });
    expect(json.added_tokens).toEqual([expect.objectContaining({ id: 0, content: '</s>', special: true })]);
    expect(Tokenizer.fromJSON(json).eosId).toBe(0);
  });

  it('reports a missing file as NOT_FOUND', async () => {
    await expectCodeAsync(() => Tokenizer.fromFile('/no/such/dir/tokenizer.json'), 'NOT_FOUND');
    await expectCodeAsync(() => Tokenizer.fromFile(mkdtempSync(join(tmpdir(), 'maskmix-empty-'))), 'NOT_FOUND');
  });

  it('reports malformed or unusable JSON as INVALID_ARGUMENT (DATA_INVALID naming the file when read from one)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-bad-'));
    writeFileSync(join(dir, 'tokenizer.json'), '{ "version": "1.0", ');
    await expectCodeAsync(() => Tokenizer.fromFile(join(dir, 'tokenizer.json')), 'DATA_INVALID');
    await expectCodeAsync(() => Tokenizer.fromJSON('{not json'), 'INVALID_ARGUMENT');
    await expectCodeAsync(() => Tokenizer.fromJSON('[]'), 'INVALID_ARGUMENT');
    await expectCodeAsync(() => Tokenizer.fromJSON('{}'), 'INVALID_ARGUMENT');
    await expectCodeAsync(() => Tokenizer.fromJSON({ model: { type: 'Nonsense' } }), 'INVALID_ARGUMENT');
    await expectCodeAsync(() => Tokenizer.fromJSON(small(), { eosToken: '<nope>' }), 'INVALID_ARGUMENT');
    const noSpecials = { ...small(), added_tokens: [] };
    noSpecials.model = { ...noSpecials.model, vocab: Object.fromEntries(Object.entries(noSpecials.model.vocab).filter(([t]) => !t.startsWith('<'))) };
    await expectCodeAsync(() => Tokenizer.fromJSON(noSpecials), 'INVALID_ARGUMENT');
  });
});
