// metrics.jsonl stays one line per step: steps after a resumed checkpoint are dropped before they are trained
// again, a line cut short by a crash goes with them, and the stop's final evaluation replaces the last line.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { dropMetricsAfter, replaceLastMetricsLine } from '../../lib/io/metrics-file.js';

const read = (path: string) => readFileSync(path, 'utf8');

describe('metrics.jsonl rewrites', () => {
  it('drops the steps after a checkpoint and a torn last line, keeps lines without a step', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'maskmix-metrics-')), 'metrics.jsonl');
    writeFileSync(path, '{"step":1,"loss":5}\n{"note":"header"}\n{"step":2,"loss":4}\n{"step":3,"loss":3}\n{"step":4,"lo');
    await dropMetricsAfter(path, 2);
    expect(read(path)).toBe('{"step":1,"loss":5}\n{"note":"header"}\n{"step":2,"loss":4}\n');
    await dropMetricsAfter(join(path, '..', 'missing.jsonl'), 2); // nothing to do, nothing made
    await replaceLastMetricsLine(path, { step: 2, loss: 4, valLoss: 4.5 });
    expect(read(path)).toBe('{"step":1,"loss":5}\n{"note":"header"}\n{"step":2,"loss":4,"valLoss":4.5}\n');
  });
});
