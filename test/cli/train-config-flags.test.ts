// `train --config` / `--resume` take every setting from the config (or the run): other flags given beside them are
// a usage error instead of being silently ignored, and a config run without --out goes where the help says.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { BIN, maskmix } from '../cli-runner.js';

const TINY = {
  model: { kind: 'mixer', dModel: 16, nLayers: 1, context: 16 },
  training: { steps: 3, batchSize: 4, evalEvery: 3, evalSequences: 8, checkpointEvery: 3 },
  data: { source: 'brown', documents: 4 },
  tokenizer: { vocabSize: 300 },
};

function tinyConfig(): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'maskmix-train-flags-'));
  const config = join(dir, 'tiny.json');
  writeFileSync(config, JSON.stringify(TINY));
  return { dir, config };
}

describe('train --config / --resume and other flags', () => {
  it('names the flags that --config would ignore, and trains nothing', async () => {
    const { dir, config } = tinyConfig();
    const r = await maskmix('train', '--config', config, '--steps', '3', '--width', '16', '--out', join(dir, 'run2'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--steps, --width cannot be combined with --config/);
    expect(existsSync(join(dir, 'run2'))).toBe(false);
  }, 30_000);

  it('--resume takes no --out nor settings; the help says where the settings come from', async () => {
    const r = await maskmix('train', '--resume', 'some-run', '--out', 'elsewhere', '--lr', '0.1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--lr, --out cannot be combined with --resume/);
    const help = await maskmix('train', '--help');
    expect(help.stdout).toMatch(/With --config or --resume every setting comes from the config/);
  }, 30_000);

  it('a --config run without --out goes to runs/train, as the help says', async () => {
    const { dir, config } = tinyConfig();
    const help = await maskmix('train', '--help');
    expect(help.stdout).toContain('default runs/train');
    await promisify(execFile)('node', [BIN, 'train', '--config', config, '--no-progress'], { cwd: dir });
    expect(existsSync(join(dir, 'runs', 'train', 'summary.json'))).toBe(true);
  }, 60_000);
});
