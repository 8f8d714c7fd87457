// `maskmix synthetic` as a user runs it: help that teaches, one-line errors for bad arguments, and a tiny run.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { maskmix } from '../cli-runner.js';

describe('maskmix synthetic', () => {
  it('--help explains the tasks, the model-set format and gives examples', async () => {
    const r = await maskmix('synthetic', '--help');
    expect(r.code).toBe(0);
    for (const text of ['copy', 'recall', 'multihop', '--models <file>', '--set <name>', '--steps <n>', '"models"', 'Examples:', 'maskmix compare --models']) {
      expect(r.stdout).toContain(text);
    }
  });

  it('bad arguments fail with one line and exit code 2', async () => {
    const bad = await maskmix('synthetic', '--set', 'small', '--tasks', 'copy,sort');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--tasks takes a comma-separated list of copy, recall, multihop; got 'copy,sort'/);
    const none = await maskmix('synthetic');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--models <file> or --set <name>/);
    const steps = await maskmix('synthetic', '--set', 'small', '--steps', '0');
    expect(steps.code).toBe(2);
    expect(steps.stderr).toMatch(/--steps must be an integer ≥ 1/);
    const compare = await maskmix('compare', '--models', 'examples/synthetic/small.json', 'a.json', 'b.json');
    expect(compare.code).toBe(2);
    expect(compare.stderr).toMatch(/with --models give exactly one base experiment config, got 2/);
    expect(`${bad.stderr}${none.stderr}${steps.stderr}${compare.stderr}`).not.toMatch(/^\s+at /m);
  });

  it('runs a tiny model set and prints JSON results', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-synthetic-cli-'));
    const models = join(dir, 'models.json');
    writeFileSync(models, JSON.stringify({ models: [{ name: 'm', model: { kind: 'mixer', dModel: 8, nLayers: 1 } }] }));
    const r = await maskmix('synthetic', '--models', models, '--tasks', 'multihop', '--steps', '3', '--batch', '4', '--context', '16', '--vocab', '16', '--eval', '8', '--out', join(dir, 'out'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.results).toHaveLength(1);
    expect(out.results[0]).toMatchObject({ task: 'multihop', model: 'm', kind: 'mixer', steps: 3 });
  });
});
