// `maskmix retrieval eval|train`, run as a user runs it: the compiled bin in a child process.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { maskmix, tinyQuickstartRunBeforeAll } from '../cli-runner.js';

describe('maskmix retrieval', () => {
  const run = tinyQuickstartRunBeforeAll('maskmix-retrieval-cli-');

  it('explains itself in --help', async () => {
    const r = await maskmix('retrieval', 'eval', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('second-to-last');
    expect(r.stdout).toContain('Top-1@n');
    expect(r.stdout).toContain('{"query": …, "passage": …}');
  });

  it('evaluates on the built-in Brown set and on a JSONL file', async () => {
    const r = await maskmix('retrieval', 'eval', run.runDir, '--documents', '12', '--n', '8,16,4096', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.pairs).toBeGreaterThan(16);
    expect(out.results.map((x: { n: number }) => x.n)).toEqual([8, 16, 4096]);
    expect(out.results[0].top1).toBeGreaterThanOrEqual(0);
    expect(out.results[2].top1).toBeNull();
    const file = join(run.dir, 'pairs.jsonl');
    writeFileSync(file, Array.from({ length: 6 }, (_, i) => JSON.stringify({ query: `query ${i} about topic ${i}`, passage: `passage ${i} on topic ${i}.` })).join('\n'));
    const table = await maskmix('retrieval', 'eval', run.runDir, '--data', file, '--n', '2,4,6');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^Model\s+n=2\s+4\s+6\nrun\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d\n/);
  });

  it('fine-tunes with InfoNCE and writes a run directory that evaluates', async () => {
    const out = join(run.dir, 'tuned');
    const r = await maskmix('retrieval', 'train', run.runDir, '--documents', '12', '--steps', '2', '--samples', '1', '--group', '8', '--lr', '1e-3', '--n', '8,16', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.before).toHaveLength(2);
    expect(summary.after).toHaveLength(2);
    expect(Number.isFinite(summary.lastLoss)).toBe(true);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'retrieval.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const again = await maskmix('retrieval', 'eval', out, '--documents', '12', '--n', '8,16', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).results).toEqual(summary.after);
 
    expect(summary.trainSessions).toBe(1);

    // A resume reports the training time of all sessions: the checkpoint's count (made large here), plus its own
    // only if it trained a step — this checkpoint had already reached the last step, so it adds no time or session.
    const statePath = join(out, 'checkpoint', 'state.json');
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    writeFileSync(statePath, JSON.stringify({ ...state, elapsedSeconds: 1e6 }));
    const resumed = await maskmix('retrieval', 'train', '--resume', out);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`[resume] ${out} from step 2 (1000000 s total training time so far)`);
    expect(resumed.stdout).toMatch(/ in 1000000 s total training time\)/);
    const total = JSON.parse(readFileSync(join(out, 'retrieval.json'), 'utf8'));
    expect(total.trainSeconds).toBe(1e6);
    expect(total.trainSessions).toBe(1);
    expect(total.after).toEqual(summary.after);

    // A run that died before its first checkpoint left only its settings: --resume trains it from step 0.
    const crashed = join(run.dir, 'crashed');
    mkdirSync(crashed);
    copyFileSync(join(out, 'train-settings.json'), join(crashed, 'train-settings.json'));
    const fresh = await maskmix('retrieval', 'train', '--resume', crashed, '--json');
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stderr).toContain(`[resume] ${crashed} has no checkpoint yet (stopped before its first): training it from step 0 with its saved settings`);
    expect(JSON.parse(fresh.stdout)).toMatchObject({ runDir: crashed, firstLoss: summary.firstLoss, lastLoss: summary.lastLoss, before: summary.before, after: summary.after, trainSessions: 1 });
    expect(existsSync(join(crashed, 'checkpoint', 'state.json'))).toBe(true);
  });

  it('fails with one line on bad input', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['retrieval', 'eval', run.runDir, '--n', '1,32'], 2, /--n must be a comma-separated list of integers ≥ 2/],
      [['retrieval', 'eval', run.runDir, '--data', join(run.dir, 'none.jsonl')], 1, /none\.jsonl/],
      [['retrieval', 'eval', run.runDir, '--data', join(run.dir, 'none.jsonl'), '--brown'], 2, /either --data or --brown/],
      [['retrieval', 'eval', run.runDir, '--token', 'first'], 2, /--token must be 'last' or 'second-to-last'/],
      [['retrieval', 'eval', join(run.dir, 'missing-run')], 1, /does not exist/],
    ];
    for (const [args, code, message] of cases) {
      const r = await maskmix(...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('maskmix:'))).toHaveLength(1);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    }
  });
});
