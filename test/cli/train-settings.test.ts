import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { readTrainSettings, settingsOf, TRAIN_SETTINGS_FILE, trainingClock, writeTrainSettings } from '../../lib/cli/train-settings.js';
import { expectCodeAsync } from '../expect-code.js';

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

  it('resume a run stopped before its first checkpoint from step 0, but only when nothing there could be overwritten', async () => {
    const root = mkdtempSync(join(tmpdir(), 'maskmix-settings-'));
    const folder = async (name: string, extra?: (dir: string) => void) => {
      const dir = join(root, name);
      mkdirSync(dir);
      await writeTrainSettings(dir, { command: 'retrieval train', from: 'runs/model', options: { steps: 10 } });
      extra?.(dir);
      return dir;
    };
    const killed = await folder('killed');
    expect(await readTrainSettings(killed, 'retrieval train')).toMatchObject({ command: 'retrieval train', options: { steps: 10 }, checkpointed: false });
    // A checkpoint a crash left half-written is no checkpoint; it is kept.
    const partial = await folder('partial', (dir) => mkdirSync(join(dir, 'checkpoint.new-123')));
    expect((await readTrainSettings(partial, 'retrieval train')).checkpointed).toBe(false);
    const saved = await folder('saved', (dir) => {
      mkdirSync(join(dir, 'checkpoint'));
      writeFileSync(join(dir, 'checkpoint', 'state.json'), '{}');
    });
    expect((await readTrainSettings(saved, 'retrieval train')).checkpointed).toBe(true);

    // Refused: other files but no checkpoint (a damaged checkpoint/ among them), another command's run, no run.
    const damaged = await folder('damaged', (dir) => mkdirSync(join(dir, 'checkpoint')));
    const other = await folder('other', (dir) => writeFileSync(join(dir, 'notes.txt'), 'mine'));
    await expectCodeAsync(readTrainSettings(damaged, 'retrieval train'), 'CHECKPOINT_INVALID');
    await expectCodeAsync(readTrainSettings(other, 'retrieval train'), 'CHECKPOINT_INVALID');
    await expectCodeAsync(readTrainSettings(killed, 'retrieval indirect-train'), 'CHECKPOINT_INVALID');
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await expectCodeAsync(readTrainSettings(empty, 'retrieval train'), 'NOT_FOUND');
    expect(readdirSync(damaged).sort()).toEqual(['checkpoint', TRAIN_SETTINGS_FILE]);
    expect(readFileSync(join(other, 'notes.txt'), 'utf8')).toBe('mine');
  });
});

describe('training time over resumed sessions', () => {
  it('adds this session when it trained steps, and nothing when the resumed checkpoint had already finished', () => {
    const fresh = trainingClock('/tmp/run').total(20);
    expect(fresh.trainSessions).toBe(1);
    expect(fresh.trainSeconds).toBeGreaterThanOrEqual(0);

    const continued = trainingClock('/tmp/run');
    continued.resumed(10, { elapsedSeconds: 5, sessions: 1 });
    const more = continued.total(20);
    expect(more.trainSessions).toBe(2);
    expect(more.trainSeconds).toBeGreaterThanOrEqual(5);

    const finished = trainingClock('/tmp/run');
    finished.resumed(20, { elapsedSeconds: 7.5, sessions: 2 });
    expect(finished.total(20)).toEqual({ trainSeconds: 7.5, trainSessions: 2 });
  });
});
