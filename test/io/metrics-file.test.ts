// metrics.jsonl stays one line per step: a resume drops the steps after its checkpoint before training them again
// (a line cut short by a crash goes with them), the stop's final evaluation replaces the last line, and a plain
// trainLoop only appends.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { batches } from '../../lib/data/batches.js';
import { packSequences } from '../../lib/data/corpus.js';
import { dropMetricsAfter, replaceLastMetricsLine } from '../../lib/io/metrics-file.js';
import { trainLoop } from '../../lib/train-loop.js';
import { Trainer } from '../../lib/trainer.js';
import { randomTokens, tinyModel } from '../helpers.js';

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

describe('trainLoop and an existing metrics file', () => {
  it('appends after lines already there (another run, the README example run twice) and keeps them', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'maskmix-metrics-loop-')), 'metrics.jsonl');
    writeFileSync(path, '{"step":1,"loss":9}\n{"step":2,"loss":8}\n');
    const model = await tinyModel();
    const sequences = packSequences([Array.from(randomTokens(400, model.config.vocabSize, 1))], { context: model.config.context, eosId: 0 });
    await trainLoop({ trainer: new Trainer(model), batches: batches(sequences, 2, { seed: 0 }), steps: 2, metricsFile: path });
    model.dispose();
    const steps = read(path).trim().split('\n').map((l) => JSON.parse(l).step);
    expect(steps).toEqual([1, 2, 1, 2]);
    expect(read(path).startsWith('{"step":1,"loss":9}\n{"step":2,"loss":8}\n')).toBe(true);
  });
});
