// `maskmix retrieval indirect-train|indirect-eval`, run as a user runs it: the compiled bin in a child process.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { spawn } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { BIN, maskmix, tinyQuickstartRunBeforeAll, type CliResult } from '../cli-runner.js';

/** `maskmix <args>` with a Ctrl-C (SIGINT, or `signal`) sent once stderr shows `when`. */
function interrupted(when: RegExp, ...args: string[]): Promise<CliResult> {
  return signalled('SIGINT', when, ...args);
}

function signalled(signal: NodeJS.Signals, when: RegExp, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn('node', [BIN, ...args]);
    let [stdout, stderr, sent] = ['', '', false];
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!sent && when.test(stderr)) sent = child.kill(signal);
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('maskmix retrieval indirect-train / indirect-eval', () => {
  const run = tinyQuickstartRunBeforeAll('maskmix-indirect-cli-');

  it('explains the model in --help', async () => {
    const r = await maskmix('retrieval', 'indirect-train', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('BIDIRECTIONAL');
    expect(r.stdout).toContain('Algorithm 1');
    expect(r.stdout).toContain('--context <c>');
    expect(r.stdout).toContain('no gradient reaches the embeddings');
    const e = await maskmix('retrieval', 'indirect-eval', '--help');
    expect(e.code).toBe(0);
    expect(e.stdout).toContain('--rounds <r>');
  });

  it('trains on frozen embeddings, writes the model and a results file, and evaluates it again', async () => {
    const out = join(run.dir, 'indirect');
    const weights = readFileSync(join(run.runDir, 'model.safetensors'));
    const r = await maskmix('retrieval', 'indirect-train', run.runDir, '--pairs', 'brown', '--documents', '12', '--context', '8', '--layers', '1', '--steps', '6', '--samples', '8', '--eval-every', '3', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[train\] step 6\/6 {2}CE \d/);
    expect(r.stderr).toMatch(/held-out CE/);
    const summary = JSON.parse(r.stdout);
    expect(summary.model).toMatchObject({ kind: 'retrieval-mixer', context: 8, nLayers: 1, dModel: 16 });
    expect(summary.chance.loss).toBeCloseTo(Math.log(7), 10);
    expect(summary.after.samples).toBe(summary.evalPairs);
    expect(Number.isFinite(summary.after.loss)).toBe(true);
    expect(summary.history.map((h: { step: number }) => h.step)).toEqual([3, 6]);
    for (const f of ['retrieval-mixer.json', 'retrieval-mixer.safetensors', 'eval-embeddings.safetensors', 'indirect-retrieval.json']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'indirect-retrieval.json'), 'utf8')).after).toEqual(summary.after);
    // The embedding model is frozen: its checkpoint is untouched.
    expect(readFileSync(join(run.runDir, 'model.safetensors')).equals(weights)).toBe(true);

    const again = await maskmix('retrieval', 'indirect-eval', out, '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ context: 8, loss: summary.after.loss, top1: summary.after.top1 });

    const file = join(run.dir, 'pairs.jsonl');
    writeFileSync(file, Array.from({ length: 10 }, (_, i) => JSON.stringify({ query: `query ${i} about topic ${i}`, passage: `passage ${i} on topic ${i}.` })).join('\n'));
    const table = await maskmix('retrieval', 'indirect-eval', out, '--pairs', file, '--rounds', '2');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^c = 8\s+CE \(nats\)\s+top-1 %\nchance\s+1\.946\s+14\.3\n/);
    expect(table.stdout).toContain('(20 samples of 10');
  }, 120_000);

  it('Ctrl-C saves a checkpoint; --resume finishes the run as an uninterrupted one ends', async () => {
    const help = await maskmix('retrieval', 'indirect-train', '--help');
    expect(help.stdout).toContain('--resume <dir>');
    expect(help.stdout).toContain('maskmix retrieval indirect-train --resume runs/quickstart-indirect');
    const trainHelp = await maskmix('retrieval', 'train', '--help');
    expect(trainHelp.stdout).toContain('--checkpoint-every <k>');
    expect(trainHelp.stdout).toContain('maskmix retrieval train --resume runs/quickstart-retrieval');
    const flags = ['--pairs', 'brown', '--documents', '12', '--context', '8', '--layers', '1', '--steps', '2000', '--samples', '8', '--checkpoint-every', '300', '--json'];
    const stopped = join(run.dir, 'stopped');
    // Ctrl-C once step 100 is logged: it lands mid-run, far from the last of 2000 small steps.
    const first = await interrupted(/\[train\] step 100\/2000/, 'retrieval', 'indirect-train', run.runDir, ...flags, '--out', stopped);
    expect(first.code, first.stderr).toBe(130);
    expect(first.stderr).toContain(`continue with: maskmix retrieval indirect-train --resume ${stopped}`);
    const state = JSON.parse(readFileSync(join(stopped, 'checkpoint', 'state.json'), 'utf8'));
    expect(state.step).toBeGreaterThanOrEqual(100);
    expect(state.step).toBeLessThan(2000);
    expect(existsSync(join(stopped, 'indirect-retrieval.json'))).toBe(false);

    // The checkpoint's training time, made large here, is counted in the resumed run's total.
    writeFileSync(join(stopped, 'checkpoint', 'state.json'), JSON.stringify({ ...state, elapsedSeconds: 1e6 }));
    const resumed = await maskmix('retrieval', 'indirect-train', '--resume', stopped, '--json');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout).trainSeconds).toBeGreaterThanOrEqual(1e6);
    expect(JSON.parse(resumed.stdout).trainSessions).toBe(2);
    expect(resumed.stderr).toContain(`[resume] ${stopped} from step ${state.step}`);
    expect(resumed.stderr).not.toContain('[eval] before');
    const full = await maskmix('retrieval', 'indirect-train', run.runDir, ...flags, '--out', join(run.dir, 'full'));
    expect(full.code, full.stderr).toBe(0);
    const [a, b] = [JSON.parse(full.stdout), JSON.parse(resumed.stdout)];
    expect(b).toMatchObject({ steps: 2000, firstLoss: a.firstLoss, lastLoss: a.lastLoss, before: a.before, after: a.after, dir: stopped });

    // Killed before its first checkpoint (step 300): --resume trains it from step 0 with its saved settings.
    const killed = join(run.dir, 'killed');
    const crash = await signalled('SIGKILL', /\[train\] step 100\/2000/, 'retrieval', 'indirect-train', run.runDir, ...flags, '--out', killed);
    expect(crash.code).not.toBe(0);
    expect(existsSync(join(killed, 'train-settings.json'))).toBe(true);
    expect(existsSync(join(killed, 'checkpoint'))).toBe(false);
    const again = await maskmix('retrieval', 'indirect-train', '--resume', killed, '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`[resume] ${killed} has no checkpoint yet (stopped before its first): training it from step 0 with its saved settings`);
    expect(again.stderr).toContain('[eval] before');
    expect(JSON.parse(again.stdout)).toMatchObject({ steps: 2000, firstLoss: a.firstLoss, lastLoss: a.lastLoss, before: a.before, after: a.after, dir: killed, trainSessions: 1 });

    const cases: Array<[string[], number, RegExp]> = [
      [['retrieval', 'indirect-train', run.runDir, '--resume', stopped], 2, /give <run-dir> \(a new run\) or --resume <dir> \(a stopped one\), not both/],
      [['retrieval', 'indirect-train'], 2, /give the run directory to embed with, or --resume <dir>/],
      [['retrieval', 'indirect-train', '--resume', run.runDir], 1, /has no train-settings\.json: not an output folder of maskmix retrieval indirect-train/],
      [['retrieval', 'train', '--resume', stopped], 1, /was made by maskmix retrieval indirect-train, not maskmix retrieval train/],
    ];
    for (const [args, code, message] of cases) {
      const r = await maskmix(...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr).toMatch(message);
    }
  }, 180_000);

  it('fails with one line on bad input', async () => {
    const out = join(run.dir, 'indirect');
    const badResults = join(run.dir, 'bad-results');
    mkdirSync(badResults);
    writeFileSync(join(badResults, 'indirect-retrieval.json'), '{"from": ');
    const cases: Array<[string[], number, RegExp]> = [
      [['retrieval', 'indirect-train', run.runDir, '--context', '1'], 2, /--context must be an integer ≥ 2/],
      [['retrieval', 'indirect-train', run.runDir, '--documents', '12', '--context', '5000'], 2, /pairs: a retrieval of --context 5000 needs at least 5000/],
      [['retrieval', 'indirect-train', run.runDir, '--pairs', join(run.dir, 'none.jsonl')], 1, /none\.jsonl/],
      [['retrieval', 'indirect-train', run.runDir, '--pairs', 'brown', '--data', 'x.jsonl'], 2, /--pairs, or --data \/ --brown, not both/],
      [['retrieval', 'indirect-train', join(run.dir, 'missing-run'), '--documents', '12', '--context', '8'], 1, /does not exist/],
      [['retrieval', 'indirect-eval', run.runDir], 1, /has no indirect-retrieval\.json: not an indirect-train output/],
      [['retrieval', 'indirect-eval', out, '--rounds', '0'], 2, /--rounds must be an integer ≥ 1/],
      // A taken --out is refused before any embedding or training (nothing would be saved after the work).
      [['retrieval', 'indirect-train', run.runDir, '--documents', '12', '--context', '8', '--out', out], 2, /already holds files/],
      [['retrieval', 'indirect-eval', badResults], 1, /indirect-retrieval\.json is not valid/],
    ];
    for (const [args, code, message] of cases) {
      const r = await maskmix(...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('maskmix:'))).toHaveLength(1);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.stderr).not.toMatch(/\[embed\]/);
    }
  }, 120_000);
});
