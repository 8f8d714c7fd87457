// `maskmix launch` checks what it can before starting ranks, keeps rank 0's stdout parseable, and a rank without a
// rendezvous address fails at once.
import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Writable } from 'node:stream';

import { distributedEnv } from '../../lib/dist/env.js';
import { initDistributed } from '../../lib/dist/init.js';
import { launch } from '../../lib/dist/launch.js';
import { resolveRankCommand } from '../../lib/dist/rank-command.js';
import { FIXTURES, maskmix } from './launch-helpers.js';

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

describe('maskmix launch: checks and output', () => {
  it('a missing script or command is one line and exit code 2, before any rank starts', async () => {
    for (const command of [['nope.ts'], ['node', 'nope.mjs'], ['no-such-command-here']]) {
      const r = await maskmix(['launch', '--nproc-per-node', '2', '--', ...command]).done;
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/does not exist|neither a script/);
      expect(r.stderr).not.toMatch(/\[rank|started, pid/);
      noStackTrace(r.stderr);
    }
  });

  it("finds a bare command on the ranks' PATH (launch's env), not only the launcher's", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-path-'));
    const tool = 'maskmix-path-probe';
    writeFileSync(join(dir, tool), '#!/bin/sh\necho "probe rank $RANK"\n');
    chmodSync(join(dir, tool), 0o755);
    expect(() => resolveRankCommand([tool])).toThrow(/neither a script/);
    expect(resolveRankCommand([tool, '-x'], dir)).toEqual({ file: tool, args: ['-x'], bootstrapped: false });
    let out = '';
    const stdout = new Writable({ write: (chunk, _enc, done) => void ((out += String(chunk)), done()) });
    const result = await launch({ nprocPerNode: 1, command: [tool], env: { PATH: `${dir}${delimiter}${process.env.PATH ?? ''}` }, stdout, log: () => undefined });
    expect(result.exitCode).toBe(0);
    expect(out).toMatch(/probe rank 0/);
  });

  it("rank 0's stdout passes through unprefixed (JSON parses); other ranks' stdout and all stderr are prefixed", async () => {
    const r = await maskmix(['launch', '--nproc-per-node', '2', '--', join(FIXTURES, 'print-rank.mjs')]).done;
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain('[rank 1] hello from 1');
    expect(JSON.parse(lines.filter((l) => !l.startsWith('[rank 1] ')).join('\n'))).toEqual({ rank: 0, worldSize: 2 });
    expect(r.stderr).toMatch(/^\[rank 0\] note from 0$/m);
    expect(r.stderr).toMatch(/^\[rank 1\] note from 1$/m);
    const help = await maskmix(['launch', '--help']).done;
    expect(help.stdout.replace(/\s+/g, ' ')).toMatch(/rank 0's stdout passes through unprefixed.*every other line .* is led by its rank/);
  });
});

describe('a rank without MASTER_ADDR / MASTER_PORT', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ['RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('fails at once naming what is missing, instead of waiting for a rendezvous', async () => {
    expect(() => distributedEnv({ RANK: '0', WORLD_SIZE: '2' })).toThrow(/WORLD_SIZE is 2 but MASTER_ADDR and MASTER_PORT are not set.*maskmix launch/);
    expect(() => distributedEnv({ RANK: '1', WORLD_SIZE: '2', MASTER_ADDR: '10.0.0.1' })).toThrow(/MASTER_PORT is not set, so rank 1/);
    expect(distributedEnv({ RANK: '0', WORLD_SIZE: '1' })).toMatchObject({ worldSize: 1, masterAddr: '127.0.0.1' });
    Object.assign(process.env, { RANK: '0', WORLD_SIZE: '2' });
    delete process.env.MASTER_ADDR;
    delete process.env.MASTER_PORT;
    await expect(initDistributed({ device: 'cpu' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
