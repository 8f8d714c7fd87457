/**
 * `initDistributed()`: the one call a training script makes to take part in a `maskmix launch` job. It reads the
 * launcher's environment, picks this rank's device (GPU `LOCAL_RANK` when there are GPUs) and backend (NCCL on
 * CUDA, Gloo on the CPU), joins the process group, and hands back what the rest of the script needs. Without a
 * launcher it returns a world of one with no group, so the same script runs on its own unchanged.
 */
import { check } from '../errors.js';
import { usableGpus } from '../native.js';
import type { DataParallelOptions } from '../trainer.js';
import { distributedEnv, type DistributedEnv } from './env.js';
import { ProcessGroup } from './process-group.js';

/** Options of {@link initDistributed}. */
export interface InitDistributedOptions {
  /** 'auto' (default): a GPU (`cuda:LOCAL_RANK`) when CUDA is available, else the CPU. Or 'cpu', 'cuda', 'cuda:N'. */
  device?: string;
  /** 'auto' (default): 'nccl' for a CUDA device, 'gloo' for the CPU. */
  backend?: 'auto' | 'gloo' | 'nccl';
  /** Rendezvous and collective timeout (default: MASKMIX_DIST_TIMEOUT_MS from the launcher, else 10 minutes). */
  timeoutMs?: number;
  /** Gradient bucket size for the Trainer (default 25 MB). */
  bucketBytes?: number;
}

/** This process's place in the job, and the group it trains in. */
export interface Distributed {
  readonly env: DistributedEnv;
  readonly rank: number;
  readonly localRank: number;
  readonly worldSize: number;
  readonly isRankZero: boolean;
  /** The device this rank trains on: pass it to LanguageModel.create. */
  readonly device: string;
  /** The group (absent in a world of one). */
  readonly processGroup: ProcessGroup | undefined;
  /** Third argument of `new Trainer(model, config, …)`: makes the trainer data-parallel over the group. */
  readonly trainerOptions: DataParallelOptions;
  /** Waits until every rank got here (no-op in a world of one). */
  barrier(): Promise<void>;
  /** Barrier, then leaves the group: call at the end of the script so no rank exits while others still need it. */
  shutdown(): Promise<void>;
}

function chooseDevice(requested: string, env: DistributedEnv): string {
  if (requested === 'cpu') return 'cpu';
  const gpus = usableGpus().count;
  if (requested === 'auto') return gpus > 0 ? `cuda:${env.localRank % gpus}` : 'cpu';
  if (requested === 'cuda') {
    check(gpus > 0, 'device cuda was asked for but no CUDA device is available', 'CUDA_UNAVAILABLE');
    check(env.localRank < gpus, `LOCAL_RANK ${env.localRank} has no GPU of its own: this machine has ${gpus}`, 'CUDA_UNAVAILABLE');
    return `cuda:${env.localRank}`;
  }
  check(/^cuda:\d+$/.test(requested), `device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got '${requested}'`);
  return requested;
}

let initialised: Promise<Distributed> | undefined;

/**
 * Joins the job this process was launched into (once; later calls return the same result).
 * @throws MaskmixError DISTRIBUTED / DISTRIBUTED_TIMEOUT when the rendezvous fails; INVALID_ARGUMENT for a
 *   malformed launcher environment.
 */
export function initDistributed(options: InitDistributedOptions = {}): Promise<Distributed> {
  initialised ??= create(options).catch((error: unknown) => {
    initialised = undefined;
    throw error;
  });
  return initialised;
}

async function create(options: InitDistributedOptions): Promise<Distributed> {
  const env = distributedEnv();
  const device = chooseDevice(options.device ?? 'auto', env);
  const backend = options.backend === undefined || options.backend === 'auto' ? (device.startsWith('cuda') ? 'nccl' : 'gloo') : options.backend;
  const group =
    env.worldSize > 1
      ? await ProcessGroup.create({
          backend,
          rank: env.rank,
          worldSize: env.worldSize,
          masterAddr: env.masterAddr,
          masterPort: env.masterPort,
          timeoutMs: options.timeoutMs ?? env.timeoutMs,
          device,
          glooInterface: process.env.MASKMIX_GLOO_IFNAME || process.env.GLOO_SOCKET_IFNAME || undefined,
        })
      : undefined;
  let closed = false;
  return {
    env,
    rank: env.rank,
    localRank: env.localRank,
    worldSize: env.worldSize,
    isRankZero: env.rank === 0,
    device,
    processGroup: group,
    trainerOptions: { processGroup: group, bucketBytes: options.bucketBytes },
    barrier: async () => {
      await group?.barrier();
    },
    shutdown: async () => {
      if (closed) return;
      closed = true;
      await group?.barrier();
      group?.destroy();
      initialised = undefined;
    },
  };
}
