import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { settingsOf, TRAIN_SETTINGS_FILE, writeTrainSettings } from '../../lib/cli/train-settings.js';

describe('retrieval training settings for --resume', () => {
  it('keep paths absolute, so a resume from another working directory reads the same files', async () => {
    const kept = settingsOf({ data: 'pairs/train.jsonl', steps: 10, json: true, out: 'x', resume: undefined });
    expect(kept).toEqual({ data: resolve('pairs/train.jsonl'), steps: 10 });
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-settings-'));
    await writeTrainSettings(dir, { command: 'retrieval train', from: 'runs/model', options: kept });
    const written = JSON.parse(readFileSync(join(dir, TRAIN_SETTINGS_FILE), 'utf8'));
    expect(written.from).toBe(resolve('runs/model'));
    expect(written.options.data).toBe(resolve('pairs/train.jsonl'));
  });
});
