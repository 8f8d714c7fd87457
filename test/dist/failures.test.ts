// Failure handling of `maskmix launch`: whatever happens to one rank — it exits, is killed, hangs, or the launcher
// is interrupted or killed — every rank stops within 30 s, the launcher exits non-zero naming the rank, and no
// process is left behind.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { FIXTURES, freePort, maskmix, processesMentioning, rankPids } from './launch-helpers.js';

const marker = () => mkdtempSync(join(tmpdir(), 'maskmix-fail-'));

/** Polls until no process mentions `mark`, for at most `seconds`. */
async function expectNothingLeft(mark: string, seconds = 10): Promise<void> {
  for (let waited = 0; waited < seconds * 10 && processesMentioning(mark).length > 0; waited++) await sleep(100);
  expect(processesMentioning(mark)).toEqual([]);
}

describe('maskmix launch failure handling', () => {
  it('a rank killed mid-run stops every rank; the launcher exits non-zero naming it', async () => {
    const dir = marker();
    const run = maskmix(['launch', '--nproc-per-node', '2', '--', join(FIXTURES, 'ddp-steps.ts'), dir, '1000000', '2', '1024']);
    await run.waitFor(/\[rank 1\] step 3 /);
    const pids = rankPids((await run.waitFor(/rank 1 \(local rank 1\) started, pid \d+/)).input!);
    const killedAt = performance.now();
    process.kill(pids.get(1)!, 'SIGKILL');
    const r = await run.done;
    expect((performance.now() - killedAt) / 1000).toBeLessThan(30);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/failed: rank 1 \(node 0, local rank 1\) was killed by SIGKILL/);
    await expectNothingLeft(dir);
  });

  it('a rank that exits with an error stops the others', async () => {
    const dir = marker();
    const r = await maskmix(['launch', '--nproc-per-node', '2', '--', join(FIXTURES, 'faulty-rank.ts'), 'exit', dir]).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed: rank 1 \(node 0, local rank 1\) exited with code 3/);
    expect(r.seconds).toBeLessThan(60);
    await expectNothingLeft(dir);
  });

  it('a rank whose event loop hangs is found by its missing heartbeat', async () => {
    const dir = marker();
    // 8 s, not 3: on a loaded 2-core machine a healthy rank's event loop can stall for seconds (this test failed
    // once at 3 s while other builds shared the machine).
    const r = await maskmix(['launch', '--nproc-per-node', '2', '--hang-timeout', '8', '--grace', '1', '--', join(FIXTURES, 'faulty-rank.ts'), 'hang', dir]).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed: rank 1 \(node 0, local rank 1\) stopped responding \(no heartbeat for 8 s\)/);
    await expectNothingLeft(dir);
  });

  it('a rank that never joins a collective is caught by the collective timeout', async () => {
    const dir = marker();
    const r = await maskmix(['launch', '--nproc-per-node', '2', '--timeout', '6', '--grace', '1', '--', join(FIXTURES, 'faulty-rank.ts'), 'stall', dir]).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/barrier \(rank 0 of 2\) failed/);
    expect(r.stderr).toMatch(/DISTRIBUTED_TIMEOUT/);
    expect(r.stderr).toMatch(/failed: rank 0 \(node 0, local rank 0\) exited with code 1/);
    // The rank that timed out is not the culprit: the launcher also names the one behind in collectives.
    expect(r.stderr).toMatch(/rank 1 is behind: it entered \d+ collectives?.*, rank 0 entered \d+ \(last: barrier\)/);
    expect(r.stderr).not.toMatch(/rank 0 is behind/);
    expect(r.seconds).toBeLessThan(40);
    await expectNothingLeft(dir);
  });

  it('a failure on one node stops the other node too', async () => {
    const dir = marker();
    const [port, controlPort] = [await freePort(), await freePort()];
    const node = (rank: number) =>
      maskmix(['launch', '--nnodes', '2', '--node-rank', String(rank), '--nproc-per-node', '1', '--master-port', String(port),
        '--control-port', String(controlPort), '--', join(FIXTURES, 'faulty-rank.ts'), 'exit', dir]);
    const [r0, r1] = await Promise.all([node(0).done, node(1).done]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/failed: rank 1 \(node 1, local rank 0\) exited with code 3/);
    expect(r0.code).toBe(1);
    expect(r0.stderr).toMatch(/failed: rank 1 \(node 1, local rank 0\) exited with code 3/);
    await expectNothingLeft(dir);
  });

  it('Ctrl-C on the launcher stops every rank', async () => {
    const dir = marker();
    const run = maskmix(['launch', '--nproc-per-node', '2', '--', join(FIXTURES, 'faulty-rank.ts'), 'idle', dir]);
    await run.waitFor(/\[rank 1\] ready 1/);
    await run.waitFor(/^ready 0/m);
    process.kill(run.pid, 'SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/interrupted; stopping all ranks/);
    await expectNothingLeft(dir);
  });

  it('ranks do not outlive a launcher killed with SIGKILL', async () => {
    const dir = marker();
    const run = maskmix(['launch', '--nproc-per-node', '2', '--', join(FIXTURES, 'faulty-rank.ts'), 'idle', dir]);
    await run.waitFor(/\[rank 1\] ready 1/);
    expect(processesMentioning(dir).length).toBeGreaterThanOrEqual(2);
    process.kill(run.pid, 'SIGKILL');
    await run.done;
    await expectNothingLeft(dir, 15);
  });
});
