// run.json keeps a files-source config's data paths absolute, so `train --resume` works from any directory.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { BIN } from '../cli-runner.js';

const run = (cwd: string, ...args: string[]) => promisify(execFile)('node', [BIN, ...args, '--no-progress'], { cwd });

describe('run.json data paths', () => {
  it('are stored absolute and a resume from another directory finds the data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-run-paths-'));
    const words = 'the jury said it was a fair election and the city hall was full of people who came to see it'.split(' ');
    const docs = Array.from({ length: 8 }, (_, i) => JSON.stringify({ text: Array.from({ length: 60 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' ') }));
    writeFileSync(join(dir, 'docs.jsonl'), docs.join('\n') + '\n');
    writeFileSync(
      join(dir, 'tiny.json'),
      JSON.stringify({
        model: { kind: 'mixer', dModel: 16, nLayers: 1, context: 16 },
        training: { steps: 3, batchSize: 2, evalEvery: 3, evalSequences: 4, checkpointEvery: 3 },
        data: { source: 'files', paths: ['docs.jsonl'] },
        tokenizer: { vocabSize: 300 },
        valFraction: 0.25,
      }),
    );
    await run(dir, 'train', '--config', 'tiny.json', '--out', 'run');
    const runJson = JSON.parse(readFileSync(join(dir, 'run', 'run.json'), 'utf8'));
    expect(runJson.experiment.data.paths).toEqual([join(dir, 'docs.jsonl')]);

    // Extend the finished run by two steps and continue it from elsewhere.
    runJson.experiment.training.steps = 5;
    writeFileSync(join(dir, 'run', 'run.json'), JSON.stringify(runJson));
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    await run(elsewhere, 'train', '--resume', join(dir, 'run'));
    expect(JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8')).steps).toBe(5);
  }, 60_000);
});
