// `maskmix invert` on run directories of both kinds, run as a user runs it (the compiled bin in a child process).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { beforeAll, describe, expect, it } from 'vitest';

import { saveModel } from '../../lib/checkpoint.js';
import { LanguageModel } from '../../lib/model.js';
import { trainBpeTokenizer } from '../../lib/tokenizer/bpe-trainer.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'maskmix.js');
const TEXT = 'the cat sat on the mat';

describe('maskmix invert', () => {
  const dirs: Record<string, string> = {};

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'maskmix-invert-'));
    const tokenizer = trainBpeTokenizer(['the cat sat on the mat', 'a dog ran in the park', 'the sun is hot'], { vocabSize: 280 });
    for (const kind of ['mixer', 'llama'] as const) {
      const dir = join(root, kind);
      mkdirSync(dir);
      writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
      const common = { vocabSize: 280, dModel: 32, nLayers: 2, context: 16, seed: 1 };
      const model = await LanguageModel.create(kind === 'mixer' ? { kind, ...common } : { kind, ...common, nHeads: 4 });
      await saveModel(model, dir);
      model.dispose();
      dirs[kind] = dir;
    }
  }, 60_000);

  for (const kind of ['mixer', 'llama']) {
    it(`${kind}: --json gives the recovered tokens, text and Hamming distance`, async () => {
      const { stdout } = await run('node', [BIN, 'invert', dirs[kind], '--text', TEXT, '--layer', '1', '--iterations', '60', '--json']);
      const r = JSON.parse(stdout);
      expect(r).toMatchObject({ kind, layer: 1, iterations: 60, text: TEXT, untrained: false });
      expect(r.recoveredTokens).toHaveLength(r.tokens.length);
      expect(typeof r.recovered).toBe('string');
      expect(r.hamming).toBeGreaterThanOrEqual(0);
      expect(r.hamming).toBeLessThanOrEqual(1);
      expect(r.loss).toBeLessThan(r.initialLoss);
    }, 60_000);
  }

  it('prints the texts and the distance (fresh weights with --untrained)', async () => {
    const { stdout } = await run('node', [BIN, 'invert', dirs.mixer, '--text', TEXT, '--iterations', '20', '--untrained']);
    expect(stdout).toMatch(/^input {5}"the cat sat on the mat"\nrecovered /);
    expect(stdout).toMatch(/mixer layer 2\/2: normalised Hamming distance \d\.\d{4}/);
  }, 60_000);
});
