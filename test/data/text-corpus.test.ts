import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadTextCorpus } from '../../lib/data/text-corpus.js';
import { expectCode } from '../expect-code.js';

function fixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'maskmix-text-'));
  writeFileSync(join(dir, 'b.txt'), 'Second file.\r\nStill second.\r\n');
  writeFileSync(join(dir, 'a.txt'), '\uFEFFFirst paragraph,\nline two.\n\n\n  Indented second paragraph.\n\n');
  writeFileSync(join(dir, 'empty.txt'), '  \n\n');
  writeFileSync(join(dir, 'notes.md'), 'not read');
  mkdirSync(join(dir, 'sub.txt'));
  return dir;
}

describe('loadTextCorpus', () => {
  it('reads one document per file, folders in name order, with \\n line endings', () => {
    const dir = fixture();
    expect(loadTextCorpus(dir)).toEqual([
      'First paragraph,\nline two.\n\n\n  Indented second paragraph.',
      'Second file.\nStill second.',
    ]);
    expect(loadTextCorpus([join(dir, 'b.txt'), join(dir, 'a.txt')])[0]).toBe('Second file.\nStill second.');
  });

  it('can make each blank-line-separated block a document', () => {
    expect(loadTextCorpus(fixture(), { splitOnBlankLines: true })).toEqual([
      'First paragraph,\nline two.',
      '  Indented second paragraph.',
      'Second file.\nStill second.',
    ]);
  });

  it('reports missing paths and folders without .txt files as NOT_FOUND', () => {
    const dir = fixture();
    expectCode(() => loadTextCorpus(join(dir, 'missing.txt')), 'NOT_FOUND');
    expectCode(() => loadTextCorpus([join(dir, 'a.txt'), '/no/such/file.txt']), 'NOT_FOUND');
    expectCode(() => loadTextCorpus(mkdtempSync(join(tmpdir(), 'maskmix-none-'))), 'NOT_FOUND');
  });

  it('rejects no paths and files without text as INVALID_ARGUMENT', () => {
    expectCode(() => loadTextCorpus([]), 'INVALID_ARGUMENT');
    expectCode(() => loadTextCorpus(''), 'INVALID_ARGUMENT');
    expectCode(() => loadTextCorpus(join(fixture(), 'empty.txt')), 'INVALID_ARGUMENT');
  });
});
