// The process group inside one process: a world of one runs every native path (rendezvous, collectives, bucketed
// gradient sync) without a second process; failures come back as typed errors, never crashes.
import { createServer } from 'node:net';

import { describe, expect, it } from 'vitest';

import { ProcessGroup } from '../../lib/dist/process-group.js';
import { MaskmixError } from '../../lib/errors.js';
import { native } from '../../lib/native.js';
import { Trainer } from '../../lib/trainer.js';
import { randomTokens, tinyModel } from '../helpers.js';
import { freePort } from './launch-helpers.js';

const errorOf = async (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as MaskmixError);

describe('ProcessGroup', () => {
  it('a world of one: collectives return their input, barrier and broadcast work', async () => {
    const group = await ProcessGroup.create({ backend: 'gloo', rank: 0, worldSize: 1, masterPort: await freePort(), timeoutMs: 10_000 });
    expect([group.rank, group.worldSize, group.backend, group.device]).toEqual([0, 1, 'gloo', 'cpu']);
    expect(await group.allReduce([1.5, -2], 'sum')).toEqual([1.5, -2]);
    expect(await group.allReduce([3], 'mean')).toEqual([3]);
    expect(await group.broadcastJson({ a: [1, 'x'] })).toEqual({ a: [1, 'x'] });
    expect(await group.broadcastBytes(new Uint8Array(0))).toEqual(new Uint8Array(0));
    await group.barrier();
    group.destroy();
    expect((await errorOf(group.barrier()))?.code).toBe('DISPOSED');
  });

  it('a trainer on a one-process group takes exactly the steps of a plain trainer', async () => {
    const group = await ProcessGroup.create({ backend: 'gloo', rank: 0, worldSize: 1, masterPort: await freePort() });
    const [plain, synced] = [await tinyModel(), await tinyModel()];
    const a = new Trainer(plain, { precision: 'fp32' });
    const b = new Trainer(synced, { precision: 'fp32' }, { processGroup: group, bucketBytes: 512 });
    expect(b.gradientBuckets).toBeGreaterThan(3);
    expect(b.processGroup).toBe(group);
    for (let i = 0; i < 3; i++) {
      const batch = { tokens: randomTokens(4 * 12, 50, i), batch: 4 };
      const [ra, rb] = [await a.step(batch), await b.step(batch)];
      expect(rb.loss).toBe(ra.loss);
      expect(rb.gradNorm).toBe(ra.gradNorm);
    }
    const after = synced.stateDict();
    for (const [name, t] of Object.entries(plain.stateDict())) expect(after[name]!.toTypedArray()).toEqual(t.toTypedArray());
    b.setProcessGroup(undefined);
    expect(b.gradientBuckets).toBe(0);
    await b.step({ tokens: randomTokens(4 * 12, 50, 9), batch: 4 });
    group.destroy();
  });

  it('the rendezvous times out, without blocking the event loop, when the other ranks never come', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 50);
    const error = await errorOf(ProcessGroup.create({ backend: 'gloo', rank: 0, worldSize: 2, masterPort: await freePort(), timeoutMs: 1500 }));
    clearInterval(timer);
    expect(error).toBeInstanceOf(MaskmixError);
    expect(error!.code).toBe('DISTRIBUTED_TIMEOUT');
    expect(error!.message).toMatch(/rendezvous at 127\.0\.0\.1:\d+ \(rank 0 of 2\).* failed/);
    expect(ticks).toBeGreaterThan(10);
  });

  it('a taken port, a missing backend and bad options are typed errors', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, resolve));
    const port = (server.address() as { port: number }).port;
    const taken = await errorOf(ProcessGroup.create({ backend: 'gloo', rank: 0, worldSize: 1, masterPort: port, timeoutMs: 3000 }));
    server.close();
    expect(taken?.code).toBe('DISTRIBUTED');
    if (!native().runtimeInfo().builtWithCuda) {
      const nccl = await errorOf(ProcessGroup.create({ backend: 'nccl', rank: 0, worldSize: 1, device: 'cuda:0' }));
      expect(nccl?.code).toBe('DISTRIBUTED');
      expect(nccl?.message).toMatch(/built without NCCL/);
    }
    expect((await errorOf(ProcessGroup.create({ backend: 'gloo', rank: 2, worldSize: 2 })))?.code).toBe('CONFIG_INVALID');
    expect((await errorOf(ProcessGroup.create({ backend: 'mpi' as 'gloo', rank: 0, worldSize: 1 })))?.code).toBe('CONFIG_INVALID');
    expect((await errorOf(native().createProcessGroup({ backend: 'gloo', rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: 1, timeoutMs: 1, device: 'cuda:0' })))?.message).toMatch(
      /gloo backend reduces CPU tensors/,
    );
  });

  it('collectives and the trainer hook validate their arguments', async () => {
    const group = await ProcessGroup.create({ backend: 'gloo', rank: 0, worldSize: 1, masterPort: await freePort() });
    const handle = group.handle;
    expect((await errorOf(handle.allReduce(new Float32Array(2) as unknown as Float64Array, 'sum')))?.code).toBe('INVALID_ARGUMENT');
    expect((await errorOf(handle.allReduce(new Float64Array(2), 'prod' as 'sum')))?.code).toBe('INVALID_ARGUMENT');
    expect((await errorOf(handle.broadcastBytes(null, 0)))?.message).toMatch(/root rank must pass its bytes/);
    expect((await errorOf(handle.broadcastBytes(new Uint8Array(1), 1)))?.message).toMatch(/root must be a rank/);
    const model = await tinyModel();
    const trainer = new Trainer(model);
    expect(() => trainer.setProcessGroup(group, { bucketBytes: 0 })).toThrow(/bucketBytes/);
    expect(() => native().Trainer.prototype.setProcessGroup.call((trainer as unknown as { handle: object }).handle, {} as never)).toThrow(/must be a ProcessGroup/);
    group.destroy();
    expect(() => trainer.setProcessGroup(group)).toThrow(/destroyed/);
  });
});
