// The maskmix command line, run as a user runs it: the compiled bin in a child process.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/checkpoint.js';
import { BIN, maskmix } from '../cli-runner.js';

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

describe('maskmix CLI', () => {
  let runDir: string;
  let summary: Record<string, unknown>;

  beforeAll(async () => {
    runDir = join(mkdtempSync(join(tmpdir(), 'maskmix-cli-')), 'run');
    const r = await maskmix('quickstart', '--steps', '30', '--width', '32', '--depth', '2', '--context', '32', '--documents', '20', '--vocab', '400', '--out', runDir, '--json', '--no-progress');
    expect(r.code, r.stderr).toBe(0);
    summary = JSON.parse(r.stdout);
  }, 300_000);

  it('quickstart writes a complete run directory and a JSON summary', () => {
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'metrics.jsonl', 'run.json']) expect(existsSync(join(runDir, file))).toBe(true);
    expect(summary.runDir).toBe(runDir);
    expect(summary.steps).toBe(30);
    expect(Number(summary.valLoss)).toBeGreaterThan(0);
    expect(typeof summary.sample).toBe('string');
    const metrics = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics).toHaveLength(30);
    expect(metrics[29]).toMatchObject({ step: 30, tokens: 30 * 16 * 32 });
    expect(JSON.parse(readFileSync(join(runDir, 'tokenizer.json'), 'utf8')).model.type).toBe('BPE');
  });

  it('score --json gives log p(tokens[i+1] | tokens[..i]) matching the model\'s own logits', async () => {
    const r = await maskmix('score', runDir, '--text', 'The jury said it was a fair election.', '--json');
    expect(r.code, r.stderr).toBe(0);
    const { tokens, logprobs } = JSON.parse(r.stdout) as { tokens: number[]; logprobs: number[] };
    expect(logprobs).toHaveLength(tokens.length - 1);
    // Independent arithmetic: log-softmax of the forward logits, computed here in float64.
    const model = await loadModel(runDir);
    const V = model.config.vocabSize;
    const logits = (await model.forward(tokens)).toTypedArray() as Float32Array;
    for (let i = 0; i < tokens.length - 1; i++) {
      const row = logits.subarray(i * V, (i + 1) * V);
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      expect(logprobs[i]).toBeCloseTo(row[tokens[i + 1]] - lse, 4);
    }
    model.dispose();
  });

  it('score is causal: changing the last word leaves every earlier log-probability unchanged', async () => {
    const a = JSON.parse((await maskmix('score', runDir, '--text', 'The jury said it was fair', '--json')).stdout);
    const b = JSON.parse((await maskmix('score', runDir, '--text', 'The jury said it was green', '--json')).stdout);
    const common = a.tokens.findIndex((t: number, i: number) => t !== b.tokens[i]);
    expect(common).toBeGreaterThan(2);
    // logprobs[i] predicts tokens[i+1] from tokens[..i]: identical for every i + 1 < first differing position.
    expect(a.logprobs.slice(0, common - 1)).toEqual(b.logprobs.slice(0, common - 1));
  });

  it('generate is deterministic for a seed and prints text', async () => {
    const one = await maskmix('generate', runDir, '--prompt', 'The jury', '--max-tokens', '12', '--seed', '5', '--json');
    const two = await maskmix('generate', runDir, '--prompt', 'The jury', '--max-tokens', '12', '--seed', '5', '--json');
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual(JSON.parse(two.stdout));
    const streamed = await maskmix('generate', runDir, '--prompt', 'The jury', '--max-tokens', '12', '--seed', '5');
    expect(streamed.stdout.startsWith('The jury')).toBe(true);
    expect(streamed.stdout.trim()).toBe(('The jury' + JSON.parse(one.stdout).text).trim());
  });

  it('stops quietly when the reader of its output goes away (generate | head)', async () => {
    const r = spawnSync('bash', ['-c', `node ${JSON.stringify(BIN)} generate ${JSON.stringify(runDir)} --prompt The --max-tokens 400 --seed 1 | head -c 5; exit \${PIPESTATUS[0]}`], {
      encoding: 'utf8',
    });
    expect(r.stdout).toHaveLength(5);
    expect(r.status, r.stderr).toBe(141); // as if ended by SIGPIPE, like `yes | head`
    expect(r.stderr).not.toMatch(/EPIPE/);
    noStackTrace(r.stderr);
  });

  it('prints help for every command', async () => {
    for (const args of [['--help'], ['quickstart', '--help'], ['score', '--help'], ['generate', '--help'], ['doctor', '--help']]) {
      const r = await maskmix(...args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: maskmix/);
    }
  });

  it('answers bad input with one line and a non-zero exit, never a stack trace', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['score', '/no/such/run', '--text', 'hi'], 1, /maskmix: \/no\/such\/run does not exist/],
      [['score', runDir, '--text', ''], 2, /--text is empty/],
      [['score', runDir], 2, /required option '--text <text>' not specified/],
      [['quickstart', '--steps', 'ten'], 2, /--steps must be an integer ≥ 1, got 'ten'/],
      [['generate', runDir, '--prompt', 'x', '--top-p', '2'], 2, /--top-p must be a number in/],
      [['frobnicate'], 2, /unknown command 'frobnicate'/],
      [['autoencoder', 'eval'], 2, /missing required argument/],
      [['retrieval', 'train', runDir, '--frobnicate'], 2, /unknown option '--frobnicate'/],
      [['bench', '--decode', '--decode-weights', 'int8'], 2, /--decode-weights int8 needs --decode-loop greedy and a --device cuda/],
      [['bench', '--decode', '--decode-weights', 'int4'], 2, /--decode-weights must be 'model' or 'int8', got 'int4'/],
    ];
    for (const [args, code, message] of cases) {
      const r = await maskmix(...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr).toMatch(message);
      noStackTrace(r.stderr);
    }
  });

  it('doctor reports libtorch and a working training step', async () => {
    const r = await maskmix('doctor', '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.libtorch.found).toBe(true);
    expect(report.addon.loaded).toBe(true);
    expect(report.smokeTest.ok).toBe(true);
  });
});
