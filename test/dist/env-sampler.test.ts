// The launcher environment as a rank reads it, and batches sharded by rank.
import { describe, expect, it } from 'vitest';

import { BatchIterator } from '../../lib/data/batches.js';
import { distributedEnv } from '../../lib/dist/env.js';
import { MaskmixError } from '../../lib/errors.js';

const sequences = (n: number, context: number) => ({ data: Int32Array.from({ length: n * context }, (_, i) => i), numSequences: n, context });

describe('distributedEnv', () => {
  it('describes a world of one without a launcher', () => {
    expect(distributedEnv({})).toMatchObject({ rank: 0, localRank: 0, worldSize: 1, localWorldSize: 1, masterAddr: '127.0.0.1', launched: false });
  });

  it('reads what maskmix launch sets', () => {
    const env = distributedEnv({ RANK: '3', LOCAL_RANK: '1', WORLD_SIZE: '4', LOCAL_WORLD_SIZE: '2', MASTER_ADDR: '10.1.2.3', MASTER_PORT: '1234', MASKMIX_DIST_TIMEOUT_MS: '5000' });
    expect(env).toEqual({ rank: 3, localRank: 1, worldSize: 4, localWorldSize: 2, masterAddr: '10.1.2.3', masterPort: 1234, timeoutMs: 5000, launched: true });
  });

  it.each([
    [{ WORLD_SIZE: '2', RANK: '2' }, /RANK \(2\) must be less than WORLD_SIZE/],
    [{ WORLD_SIZE: 'two' }, /WORLD_SIZE must be an integer/],
    [{ WORLD_SIZE: '2', RANK: '0', MASTER_PORT: '70000' }, /MASTER_PORT/],
    [{ WORLD_SIZE: '2', LOCAL_WORLD_SIZE: '4' }, /LOCAL_WORLD_SIZE \(4\) must not exceed/],
  ])('rejects a malformed environment %j', (env, message) => {
    expect(() => distributedEnv(env)).toThrow(message);
    expect(() => distributedEnv(env)).toThrow(MaskmixError);
  });
});

describe('BatchIterator shard', () => {
  it('ranks get disjoint slices that together are the unsharded global batch, epoch after epoch', () => {
    const source = sequences(10, 3);
    const global = new BatchIterator(source, 6, { seed: 5 });
    const shards = [0, 1, 2].map((rank) => new BatchIterator(source, 2, { seed: 5, shard: { rank, worldSize: 3 } }));
    for (let step = 0; step < 7; step++) {
      const whole = global.nextBatch();
      const parts = shards.map((s) => s.nextBatch());
      expect(Array.from(whole)).toEqual(parts.flatMap((p) => Array.from(p)));
      for (const s of shards) expect(s.position).toEqual(global.position);
    }
    expect(shards[0]!.batchesPerEpoch).toBeCloseTo(10 / 6);
  });

  it('checks the shard', () => {
    expect(() => new BatchIterator(sequences(4, 2), 1, { shard: { rank: 2, worldSize: 2 } })).toThrow(/shard.rank must be an integer in \[0, 2\)/);
    expect(() => new BatchIterator(sequences(4, 2), 1, { shard: { rank: 0, worldSize: 0 } })).toThrow(/shard.worldSize/);
  });
});
