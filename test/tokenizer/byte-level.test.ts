import { byteLevelAlphabet, byteLevelPreTokenizer } from 'tokenizers';
import { describe, expect, it } from 'vitest';

import { loadBrownCorpus } from '../../lib/data/brown.js';
import { BYTE_TO_CHAR, CHAR_TO_BYTE, byteLevelPreTokenize, toByteLevel } from '../../lib/tokenizer/byte-level.js';

const library = byteLevelPreTokenizer(false, true);
const libraryPieces = (text: string) => library.preTokenizeString(text).map(([piece]) => piece);

describe('byte-level alphabet', () => {
  it('has 256 distinct characters, the same set as the library', () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect([...BYTE_TO_CHAR].sort()).toEqual([...byteLevelAlphabet()].sort());
    expect(CHAR_TO_BYTE.size).toBe(256);
  });

  it('uses the GPT-2 characters for space and newline', () => {
    expect(toByteLevel(' ')).toBe('Ġ');
    expect(toByteLevel('\n')).toBe('Ċ');
    expect(toByteLevel('A')).toBe('A');
    expect(toByteLevel('é')).toBe('Ã©');
  });
});

describe('byteLevelPreTokenize agrees with the library', () => {
  it('on hand-picked text', () => {
    for (const text of [
      "Hello world  foo's  bar\n\n  x",
      "I'M it'S we'll they've she'd",
      '3.14 1,000 ½ ² ٣',
      'tabs\tand\r\nwindows   ',
      'a\u00a0b \u0085! \ufeff! \u2028 \u3000x',
      'emoji 😀😀 ok',
      '',
      '   ',
    ]) {
      expect(byteLevelPreTokenize(text), JSON.stringify(text)).toEqual(libraryPieces(text));
    }
  });

  it('for every character below U+0880, where the trainer uses its fast path', () => {
    for (let cp = 0; cp < 0x880; cp++) {
      const c = String.fromCodePoint(cp);
      for (const text of [`!${c}!`, `a${c}a`, ` ${c} `, `1${c}1`, `${c}${c} ${c}`]) {
        expect(byteLevelPreTokenize(text), `U+${cp.toString(16)} in ${JSON.stringify(text)}`).toEqual(libraryPieces(text));
      }
    }
  });

  it('on random strings of tricky characters', () => {
    const pool = [..." \t\n\r\u00a0\u0085'sStTmMlLdDrReEvV.,!?1½²-_/\\\"x"];
    let seed = 12345;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
    for (let i = 0; i < 3000; i++) {
      let text = '';
      const length = 1 + Math.floor(rand() * 12);
      for (let j = 0; j < length; j++) text += pool[Math.floor(rand() * pool.length)];
      expect(byteLevelPreTokenize(text), JSON.stringify(text)).toEqual(libraryPieces(text));
    }
  });

  it('on Brown documents', () => {
    for (const doc of loadBrownCorpus({ maxDocuments: 20 })) expect(byteLevelPreTokenize(doc)).toEqual(libraryPieces(doc));
  });
});
