// A corrupt tokenizer.json or an invalid config.json in a run folder is a failure of the work (exit 1) naming the
// file, not a usage error (exit 2); the library raises DATA_INVALID / CHECKPOINT_INVALID with the path.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { readModelConfig, saveModel } from '../../lib/checkpoint.js';
import { openRun } from '../../lib/run-loader.js';
import { trainBpe } from '../../lib/tokenizer/bpe-trainer.js';
import { Tokenizer } from '../../lib/tokenizer/tokenizer.js';
import { toTokenizerJson } from '../../lib/tokenizer/tokenizer-json.js';
import { maskmix } from '../cli-runner.js';
import { expectCodeAsync } from '../expect-code.js';
import { tinyModel } from '../helpers.js';

describe('bad files in a run folder', () => {
  let good = '';
  const root = mkdtempSync(join(tmpdir(), 'maskmix-badrun-'));
  /** A copy of the good run folder with one file replaced. */
  const damaged = (name: string, file: string, text: string) => {
    const dir = join(root, name);
    mkdirSync(dir);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) copyFileSync(join(good, f), join(dir, f));
    writeFileSync(join(dir, file), text);
    return dir;
  };

  beforeAll(async () => {
    good = join(root, 'good');
    const tokenizerJson = toTokenizerJson(trainBpe(['the jury said the county was fair', 'the jury was fair'], { vocabSize: 270 }));
    const model = await tinyModel({ vocabSize: 270 });
    await saveModel(model, good);
    model.dispose();
    writeFileSync(join(good, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  });

  it('the library names the file: DATA_INVALID for tokenizer.json, CHECKPOINT_INVALID for config.json', async () => {
    const tokEmpty = damaged('tokempty', 'tokenizer.json', '');
    await expect(openRun(tokEmpty)).rejects.toMatchObject({ code: 'DATA_INVALID', message: expect.stringContaining(join(tokEmpty, 'tokenizer.json')) });
    expect(() => Tokenizer.fromFile(tokEmpty)).toThrow(expect.objectContaining({ code: 'DATA_INVALID' }));
    // An option naming a token the file lacks stays the caller's INVALID_ARGUMENT.
    await expectCodeAsync(() => Tokenizer.fromFile(good, { eosToken: '<nope>' }), 'INVALID_ARGUMENT');
    const config = JSON.parse(readFileSync(join(good, 'config.json'), 'utf8'));
    const cfgInvalid = damaged('cfginv', 'config.json', JSON.stringify({ ...config, vocabSize: -1 }));
    await expect(readModelConfig(cfgInvalid)).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID', message: expect.stringMatching(/cfginv\/config\.json: invalid model config/) });
    await expect(openRun(damaged('cfgarr', 'config.json', '[1, 2]'))).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID', message: expect.stringContaining('cfgarr/config.json') });
  });

  it('maskmix generate exits 1 naming the file', async () => {
    const tok = await maskmix('generate', damaged('cli-tok', 'tokenizer.json', '{"model": '), '--prompt', 'the', '--max-tokens', '2');
    expect(tok.code, tok.stderr).toBe(1);
    expect(tok.stderr).toContain(join(root, 'cli-tok', 'tokenizer.json'));
    const config = JSON.parse(readFileSync(join(good, 'config.json'), 'utf8'));
    const cfg = await maskmix('generate', damaged('cli-cfg', 'config.json', JSON.stringify({ ...config, vocabSize: -1 })), '--prompt', 'the', '--max-tokens', '2');
    expect(cfg.code, cfg.stderr).toBe(1);
    expect(cfg.stderr).toMatch(/cli-cfg\/config\.json: invalid model config/);
    const ok = await maskmix('generate', good, '--prompt', 'the', '--max-tokens', '2');
    expect(ok.code, ok.stderr).toBe(0);
  }, 60_000);
});
