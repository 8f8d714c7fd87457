// `maskmix report`, run as a user runs it: the CLI's main() in a child process (through tsx, so no build is needed).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { makeRun } from '../report/run-fixture.js';

const MAIN = join(import.meta.dirname, '..', '..', 'lib', 'cli', 'main.ts');
const ENTRY = `import { main } from ${JSON.stringify(MAIN)}; await main(['node', 'maskmix', ...process.argv.slice(1)]);`;

async function maskmix(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', ['--import', 'tsx', '--input-type=module', '-e', ENTRY, '--', ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('maskmix report', () => {
  it('--help describes the command, its options and examples', async () => {
    const r = await maskmix('report', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: maskmix report [options] <run-dir...>');
    for (const flag of ['--out <file>', '--title <text>', '--labels <names>', '--json']) expect(r.stdout).toContain(flag);
    expect(r.stdout).toContain('maskmix report runs/quickstart --out report.html');
    expect((await maskmix('--help')).stdout).toMatch(/report \[options\] <run-dir\.\.\.>/);
  });

  it('writes one HTML file for several runs and reports it as JSON', async () => {
    const root = mkdtempSync(join(tmpdir(), 'maskmix-cli-report-'));
    const a = makeRun(join(root, 'a'), { steps: 20, floor: 3, evalEvery: 10 });
    const b = makeRun(join(root, 'b'), { steps: 30, floor: 3.2 });
    const out = join(root, 'out', 'report.html');
    const r = await maskmix('report', a, b, '--out', out, '--labels', 'first,second', '--title', 'Two runs', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ path: out, runs: [a, b] });
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<title>Two runs</title>');
    expect(html).toContain('>first</button>');
    const plain = await maskmix('report', a, '--out', join(root, 'one.html'));
    expect(plain.stdout).toMatch(/^wrote .*one\.html \(1 run, \d+ KiB\)\n$/);
  });

  it('fails with one line and a code-specific exit status, never a stack trace', async () => {
    const root = mkdtempSync(join(tmpdir(), 'maskmix-cli-report-'));
    const missing = await maskmix('report', join(root, 'nope'), '--out', join(root, 'r.html'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`maskmix: no such run directory: ${join(root, 'nope')}\n`);
    const a = makeRun(join(root, 'a'), { steps: 3, floor: 3 });
    const labels = await maskmix('report', a, '--labels', 'x,y');
    expect(labels.code).toBe(2);
    expect(labels.stderr).toMatch(/^maskmix: --labels needs 1 non-empty/);
    const none = await maskmix('report');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/missing required argument/);
  });
});
