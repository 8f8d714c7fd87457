import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { brownRetrievalPairs, readRetrievalPairs, splitPairs, splitSentences } from '../../lib/retrieval/pairs.js';

describe('retrieval data', () => {
  it('reads {query, passage} JSONL and names the file and line of a bad one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-pairs-'));
    const good = join(dir, 'good.jsonl');
    writeFileSync(good, '{"query":"q1","passage":"p1","id":3}\n\n{"query":"q2","passage":"p2"}\n');
    expect(await readRetrievalPairs(good)).toEqual([
      { query: 'q1', passage: 'p1', source: `${good}:1` },
      { query: 'q2', passage: 'p2', source: `${good}:3` },
    ]);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"query":"q1","passage":"p1"}\n{"query":"q2"}\n');
    await expect(readRetrievalPairs(bad)).rejects.toMatchObject({ code: 'DATA_INVALID', message: expect.stringContaining('bad.jsonl:2: "passage" must be a string') });
    writeFileSync(bad, 'not json\n');
    await expect(readRetrievalPairs(bad)).rejects.toMatchObject({ code: 'DATA_INVALID' });
    await expect(readRetrievalPairs(join(dir, 'missing.jsonl'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('splits sentences at end punctuation', () => {
    expect(splitSentences('He came. "Why?" she asked. It was 5 p.m. on Friday! Done')).toEqual(['He came.', '"Why?" she asked.', 'It was 5 p.m. on Friday!', 'Done']);
  });

  it('builds Brown pairs: the query is one sentence of the window, the passage the rest', () => {
    const pairs = brownRetrievalPairs({ documents: 3 });
    expect(pairs.length).toBeGreaterThan(50);
    for (const p of pairs.slice(0, 20)) {
      expect(splitSentences(p.query)).toHaveLength(1);
      expect(p.passage).not.toContain(p.query);
      expect(p.source).toMatch(/^c[a-r]\d\d$/);
    }
    expect(brownRetrievalPairs({ documents: 3 })).toEqual(pairs);
    const { train, eval: held } = splitPairs(pairs, { evalFraction: 0.3 });
    expect(train.length + held.length).toBe(pairs.length);
    const heldSources = new Set(held.map((p) => p.source));
    expect(train.some((p) => heldSources.has(p.source))).toBe(false);
    expect(held.length).toBeGreaterThanOrEqual(0.3 * pairs.length);
  });
});
