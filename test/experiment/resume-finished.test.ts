// `train --resume` of a run that has nothing left to do leaves it exactly as it was and says so.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { runExperiment } from '../../lib/experiment/run-experiment.js';
import { maskmix } from '../cli-runner.js';

const TINY = {
  name: 'tiny-mixer',
  model: { kind: 'mixer', dModel: 16, nLayers: 1, context: 16 },
  training: { steps: 6, batchSize: 4, evalEvery: 3, evalSequences: 8, checkpointEvery: 3 },
  data: { source: 'brown', documents: 6 },
  tokenizer: { vocabSize: 300 },
  seed: 0,
};

/** Every file under `dir` with its modification time and contents. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(path, `${statSync(path).mtimeMs} ${readFileSync(path).toString('base64')}`);
  }
  return out;
}

describe('train --resume of a finished run', () => {
  it('trains nothing, touches no file and reports where the results are', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-resume-done-'));
    const config = join(dir, 'tiny.json');
    writeFileSync(config, JSON.stringify(TINY));
    const run = join(dir, 'run1');
    const first = await maskmix('train', '--config', config, '--out', run, '--no-progress');
    expect(first.code, first.stderr).toBe(0);
    const before = snapshot(run);
    const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'));
    expect(summary.steps).toBe(6);

    const again = await maskmix('train', '--resume', run, '--no-progress', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/already finished at step 6/);
    expect(again.stderr).toContain('summary.json');
    expect(JSON.parse(again.stdout)).toMatchObject({ steps: 6, trainLoss: summary.trainLoss, valLoss: summary.valLoss });
    expect(snapshot(run)).toEqual(before);
  }, 60_000);

  it('a run that stopped while saving its results (checkpoint at the last step, no summary) gets them written, untrained', async () => {
    const run = join(mkdtempSync(join(tmpdir(), 'maskmix-resume-saving-')), 'run');
    const done = await runExperiment(TINY as never, { runDir: run });
    rmSync(join(run, 'summary.json'));
    const checkpointBefore = snapshot(join(run, 'checkpoint'));
    const metricsBefore = readFileSync(join(run, 'metrics.jsonl'), 'utf8');
    const again = await runExperiment(undefined, { runDir: run, resume: true });
    expect(again).toMatchObject({ steps: 6, stoppedBy: 'steps', tokensSeen: done.tokensSeen });
    expect(again.valLoss).toBeCloseTo(done.valLoss, 5);
    expect(Number.isFinite(again.trainLoss)).toBe(true);
    expect(Number.isFinite(again.tokensPerSecond)).toBe(true);
    expect(JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'))).toMatchObject({ steps: 6, valLoss: again.valLoss });
    expect(snapshot(join(run, 'checkpoint'))).toEqual(checkpointBefore);
    expect(readFileSync(join(run, 'metrics.jsonl'), 'utf8')).toBe(metricsBefore);
  }, 60_000);

  it('a run stopped by its budget is not resumed for one more step', async () => {
    const run = join(mkdtempSync(join(tmpdir(), 'maskmix-resume-budget-')), 'run');
    const stopped = await runExperiment({ ...TINY, budget: { flops: 1 } } as never, { runDir: run });
    expect(stopped).toMatchObject({ steps: 1, stoppedBy: 'budget' });
    const before = snapshot(run);
    const phases: string[] = [];
    const again = await runExperiment(undefined, { runDir: run, resume: true, onPhase: (phase, detail) => phases.push(`${phase} ${detail}`) });
    expect(again).toMatchObject({ steps: 1, stoppedBy: 'budget' });
    expect(phases.join('\n')).toMatch(/^finished .*stopped at its budget at step 1/);
    expect(snapshot(run)).toEqual(before);
  }, 60_000);
});
