/**
 * The environment `maskmix launch` gives each process it starts (the same variables torchrun sets), read and
 * checked in one place. Without a launcher it describes a world of one process, so a script written for
 * `maskmix launch` also runs on its own.
 */
import { check } from '../errors.js';

/** Where this process stands in a distributed job. */
export interface DistributedEnv {
  /** Global rank, 0 … worldSize-1 (`RANK`). */
  rank: number;
  /** Rank among the processes of this node; picks the GPU (`LOCAL_RANK`). */
  localRank: number;
  /** Processes in the whole job (`WORLD_SIZE`). */
  worldSize: number;
  /** Processes on this node (`LOCAL_WORLD_SIZE`). */
  localWorldSize: number;
  /** Host of rank 0's rendezvous store (`MASTER_ADDR`). */
  masterAddr: string;
  /** Port of rank 0's rendezvous store (`MASTER_PORT`). */
  masterPort: number;
  /** Timeout of the rendezvous and of every collective, in ms (`MASKMIX_DIST_TIMEOUT_MS`, default 10 minutes). */
  timeoutMs: number;
  /** True when the variables came from a launcher (`WORLD_SIZE` is set). */
  launched: boolean;
}

/** Default timeout for the rendezvous and for each collective. */
export const DEFAULT_DIST_TIMEOUT_MS = 10 * 60 * 1000;

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  check(Number.isInteger(value) && value >= min, `environment variable ${name} must be an integer ≥ ${min}, got '${raw}'`);
  return value;
}

/**
 * Reads RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT and MASKMIX_DIST_TIMEOUT_MS.
 * @throws MaskmixError INVALID_ARGUMENT when they are malformed or inconsistent, or when a world of several processes
 *   lacks MASTER_ADDR or MASTER_PORT.
 */
export function distributedEnv(env: NodeJS.ProcessEnv = process.env): DistributedEnv {
  const launched = env.WORLD_SIZE !== undefined && env.WORLD_SIZE !== '';
  const worldSize = integer(env, 'WORLD_SIZE', 1, 1);
  const rank = integer(env, 'RANK', 0, 0);
  const localRank = integer(env, 'LOCAL_RANK', rank, 0);
  const localWorldSize = integer(env, 'LOCAL_WORLD_SIZE', worldSize, 1);
  const masterPort = integer(env, 'MASTER_PORT', 29500, 1);
  const timeoutMs = integer(env, 'MASKMIX_DIST_TIMEOUT_MS', DEFAULT_DIST_TIMEOUT_MS, 1);
  check(rank < worldSize, `RANK (${rank}) must be less than WORLD_SIZE (${worldSize})`);
  check(localRank < localWorldSize, `LOCAL_RANK (${localRank}) must be less than LOCAL_WORLD_SIZE (${localWorldSize})`);
  check(localWorldSize <= worldSize, `LOCAL_WORLD_SIZE (${localWorldSize}) must not exceed WORLD_SIZE (${worldSize})`);
  check(masterPort <= 65535, `MASTER_PORT must be a port number, got ${masterPort}`);
  if (worldSize > 1) {
    // As PyTorch's env:// rendezvous: no guessed address (on another host, or with another port, a rank would wait
    // for its peers until the timeout).
    const missing = ['MASTER_ADDR', 'MASTER_PORT'].filter((name) => !env[name]);
    check(
      missing.length === 0,
      `WORLD_SIZE is ${worldSize} but ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set, so rank ${rank} cannot find ` +
        "rank 0's rendezvous: start the ranks with maskmix launch, or set MASTER_ADDR and MASTER_PORT (rank 0's host and a free port) for every rank",
    );
  }
  return {
    rank,
    localRank,
    worldSize,
    localWorldSize,
    masterAddr: env.MASTER_ADDR || '127.0.0.1',
    masterPort,
    timeoutMs,
    launched,
  };
}
