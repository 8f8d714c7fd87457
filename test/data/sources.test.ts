// Data sources: text, JSONL and Parquet files as one stream of documents, with errors that name the bad line or row.
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { parquetMetadata } from 'hyparquet';
import { describe, expect, it } from 'vitest';

import { asDocuments, type SourceDocument } from '../../lib/data/document-source.js';
import { readJsonlDocuments } from '../../lib/data/jsonl-source.js';
import { parquetFileInfo, readParquetDocuments } from '../../lib/data/parquet-source.js';
import { documentFiles, readDocuments } from '../../lib/data/read-documents.js';
import { loadTextCorpus } from '../../lib/data/text-corpus.js';
import { readTextDocuments } from '../../lib/data/text-source.js';
import { writeTextParquet } from './parquet-fixture.js';

async function collect(stream: AsyncIterable<SourceDocument>): Promise<SourceDocument[]> {
  const out: SourceDocument[] = [];
  for await (const doc of stream) out.push(doc);
  return out;
}
const texts = async (stream: AsyncIterable<SourceDocument>) => (await collect(stream)).map((d) => d.text);
const tmp = () => mkdtempSync(join(tmpdir(), 'maskmix-sources-'));

describe('text files', () => {
  it('cut by file, blank lines or a separator line, cleaned as loadTextCorpus cleans them', async () => {
    const dir = tmp();
    const file = join(dir, 'a.txt');
    writeFileSync(file, '\uFEFFFirst paragraph,\r\nline two.\n\n \n  Indented second.\n\n\n');
    expect(await texts(readTextDocuments(file))).toEqual(loadTextCorpus(file));
    expect(await texts(readTextDocuments(file, { split: { by: 'blank-lines' } }))).toEqual(loadTextCorpus(file, { splitOnBlankLines: true }));
    const stories = join(dir, 'stories.txt');
    writeFileSync(stories, 'Once upon a time.\nThe end.\n<|endoftext|>\n\nA dog ran.\n <|endoftext|> \n<|endoftext|>\n');
    const docs = await collect(readTextDocuments(stories, { split: { by: 'separator', separator: '<|endoftext|>' } }));
    expect(docs).toEqual([
      { text: 'Once upon a time.\nThe end.', origin: `${stories}:1` },
      { text: 'A dog ran.', origin: `${stories}:5` },
    ]);
  });

  it('reads gzip-compressed text and reports a missing file as NOT_FOUND', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'a.txt.gz'), gzipSync('one\n\ntwo\n'));
    expect(await texts(readTextDocuments(join(dir, 'a.txt.gz'), { split: { by: 'blank-lines' } }))).toEqual(['one', 'two']);
    await expect(collect(readTextDocuments(join(dir, 'missing.txt')))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(collect(readTextDocuments(dir))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(collect(readTextDocuments(join(dir, 'a.txt.gz'), { split: { by: 'separator', separator: ' ' } }))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('JSONL files', () => {
  it('yields the text field of each line, skipping blank lines, with file:line origins', async () => {
    const file = join(tmp(), 'data.jsonl');
    writeFileSync(file, '{"text":"alpha","id":1}\r\n\n{"id":2,"text":"be\\nta \\u00e9"}\n{"text":""}');
    expect(await collect(readJsonlDocuments(file))).toEqual([
      { text: 'alpha', origin: `${file}:1` },
      { text: 'be\nta é', origin: `${file}:3` },
      { text: '', origin: `${file}:4` },
    ]);
    const other = join(tmp(), 'other.jsonl.gz');
    writeFileSync(other, gzipSync('{"content":"x"}\n'));
    expect(await texts(readJsonlDocuments(other, { field: 'content' }))).toEqual(['x']);
  });

  it('names the line of bad JSON, a non-object, a missing field or a non-string field', async () => {
    const dir = tmp();
    const cases: Array<[string, RegExp]> = [
      ['{"text":"ok"}\n{"text": "unterminated\n', /bad\.jsonl:2: not valid JSON/],
      ['{"text":"ok"}\n\n[1,2]\n', /bad\.jsonl:3: expected a JSON object with a "text" field, got an array/],
      ['{"text":"ok"}\n{"body":"no text"}\n', /bad\.jsonl:2: the object has no "text" field/],
      ['{"text":5}\n', /bad\.jsonl:1: "text" is a number, not a string/],
      ['{"text":null}\n', /bad\.jsonl:1: "text" is null, not a string/],
    ];
    for (const [content, message] of cases) {
      const file = join(dir, 'bad.jsonl');
      writeFileSync(file, content);
      await expect(collect(readJsonlDocuments(file))).rejects.toMatchObject({ code: 'DATA_INVALID', message: expect.stringMatching(message) });
    }
    writeFileSync(join(dir, 'broken.jsonl.gz'), gzipSync('{"text":"a"}\n').subarray(0, 12));
    await expect(collect(readJsonlDocuments(join(dir, 'broken.jsonl.gz')))).rejects.toMatchObject({ code: 'DATA_INVALID' });
    await expect(collect(readJsonlDocuments(join(dir, 'none.jsonl')))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('streams: a file far larger than one read chunk comes through line by line, unchanged', async () => {
    const file = join(tmp(), 'big.jsonl');
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ text: `doc ${i} ${'é€😀'.repeat(i % 200)}` }));
    writeFileSync(file, lines.join('\n') + '\n');
    const docs = await texts(readJsonlDocuments(file));
    expect(docs).toEqual(lines.map((l) => JSON.parse(l).text));
  });
});

describe('Parquet files', () => {
  const stories = Array.from({ length: 25 }, (_, i) => `Story ${i}: ${'a little cat '.repeat(i)}sat.`);

  for (const codec of ['UNCOMPRESSED', 'SNAPPY', 'ZSTD'] as const) {
    it(`reads the text column of a ${codec} file across row groups, in order`, async () => {
      const file = writeTextParquet(join(tmp(), `s-${codec}.parquet`), stories, {
        codec,
        rowGroupSize: 7,
        extra: { id: stories.map((_, i) => i) },
      });
      const meta = parquetMetadata(readFileSync(file));
      expect(meta.row_groups.every((g) => g.columns.every((c) => c.meta_data?.codec === codec))).toBe(true);
      expect(await parquetFileInfo(file)).toEqual({ rows: 25, rowGroups: 4, columns: ['text', 'id'] });
      const docs = await collect(readParquetDocuments(file));
      expect(docs.map((d) => d.text)).toEqual(stories);
      expect(docs[24].origin).toBe(`${file} row 24`);
    });
  }

  it('decodes one row group at a time: documents of earlier groups arrive before a later group is read', async () => {
    const file = writeTextParquet(join(tmp(), 'late-damage.parquet'), stories, { rowGroupSize: 10 });
    const meta = parquetMetadata(readFileSync(file));
    const last = meta.row_groups[2].columns[0].meta_data!;
    // Scribble over the last row group's data pages; the footer (metadata) stays intact.
    const fd = openSync(file, 'r+');
    const start = Number(last.dictionary_page_offset ?? last.data_page_offset);
    writeSync(fd, new Uint8Array(Number(last.total_compressed_size)).fill(0xee), 0, Number(last.total_compressed_size), start);
    closeSync(fd);
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const doc of readParquetDocuments(file)) seen.push(doc.text);
      })(),
    ).rejects.toMatchObject({ code: 'DATA_INVALID', message: expect.stringMatching(/row group 2/) });
    expect(seen).toEqual(stories.slice(0, 20));
  });

  it('reads another column by name; a missing column, a non-string column or a null names the problem', async () => {
    const dir = tmp();
    const file = writeTextParquet(join(dir, 'c.parquet'), ['x', 'y'], { column: 'story', extra: { n: [1, 2] } });
    expect(await texts(readParquetDocuments(file, { column: 'story' }))).toEqual(['x', 'y']);
    await expect(collect(readParquetDocuments(file))).rejects.toMatchObject({
      code: 'DATA_INVALID',
      message: expect.stringMatching(/no column "text" \(its columns: story, n\)/),
    });
    await expect(collect(readParquetDocuments(file, { column: 'n' }))).rejects.toMatchObject({
      code: 'DATA_INVALID',
      message: expect.stringMatching(/column "n" holds INT32 values, not strings/),
    });
    const withNull = writeTextParquet(join(dir, 'null.parquet'), ['x', null, 'z']);
    await expect(collect(readParquetDocuments(withNull))).rejects.toMatchObject({
      code: 'DATA_INVALID',
      message: expect.stringMatching(/row 1: column "text" is null/),
    });
  });

  it('reports a file that is not Parquet, or is truncated, as DATA_INVALID and a missing one as NOT_FOUND', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'fake.parquet'), 'this is not parquet at all');
    await expect(collect(readParquetDocuments(join(dir, 'fake.parquet')))).rejects.toMatchObject({ code: 'DATA_INVALID' });
    const good = readFileSync(writeTextParquet(join(dir, 'good.parquet'), stories));
    writeFileSync(join(dir, 'cut.parquet'), good.subarray(0, good.length - 20));
    await expect(collect(readParquetDocuments(join(dir, 'cut.parquet')))).rejects.toMatchObject({ code: 'DATA_INVALID' });
    writeFileSync(join(dir, 'empty.parquet'), '');
    await expect(parquetFileInfo(join(dir, 'empty.parquet'))).rejects.toMatchObject({ code: 'DATA_INVALID' });
    await expect(collect(readParquetDocuments(join(dir, 'none.parquet')))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('readDocuments', () => {
  it('streams a folder of mixed formats in name order, and stops at maxDocuments', async () => {
    const dir = tmp();
    writeTextParquet(join(dir, 'b.parquet'), ['p0', 'p1']);
    writeFileSync(join(dir, 'a.jsonl'), '{"text":"j0"}\n{"text":"j1"}\n');
    writeFileSync(join(dir, 'c.txt'), 't0\n\nt1\n');
    writeFileSync(join(dir, 'notes.md'), 'ignored');
    mkdirSync(join(dir, 'sub.parquet'));
    symlinkSync(join(dir, 'gone.jsonl'), join(dir, 'broken-link.jsonl'));
    expect(documentFiles(dir).map((f) => f.format)).toEqual(['jsonl', 'parquet', 'text']);
    expect(await texts(readDocuments(dir, { textSplit: { by: 'blank-lines' } }))).toEqual(['j0', 'j1', 'p0', 'p1', 't0', 't1']);
    expect(await texts(readDocuments([join(dir, 'c.txt'), join(dir, 'a.jsonl')], { maxDocuments: 2 }))).toEqual(['t0\n\nt1', 'j0']);
    expect(await texts(readDocuments(dir, { maxDocuments: 0 }))).toEqual([]);
  });

  it('rejects unknown formats, empty folders and missing paths with codes', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'data.csv'), 'a,b');
    expect(() => documentFiles(join(dir, 'data.csv'))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(documentFiles(join(dir, 'data.csv'), 'text')).toEqual([{ path: join(dir, 'data.csv'), format: 'text' }]);
    expect(() => documentFiles(dir)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => documentFiles(join(dir, 'nope'))).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => documentFiles([])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    await expect(collect(readDocuments(dir, { maxDocuments: -1 }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('asDocuments accepts plain strings and documents, and rejects anything else', async () => {
    expect(await collect(asDocuments(['a', { text: 'b', origin: 'here' }]))).toEqual([
      { text: 'a', origin: 'document 0' },
      { text: 'b', origin: 'here' },
    ]);
    await expect(collect(asDocuments(['a', 5 as never]))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/document 1/) });
    await expect(collect(asDocuments('abc' as never))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(collect(asDocuments(null as never))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
