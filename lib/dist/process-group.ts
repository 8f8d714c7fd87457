/**
 * `ProcessGroup`: this process's membership in a group that trains together, over c10d — Gloo for CPU tensors,
 * NCCL for CUDA tensors. Creating one is the rendezvous (it waits for every process); each collective is async and
 * runs off the event loop. Collectives are matched across processes by order: every process must call the same
 * ones in the same order.
 */
import { z } from 'zod';

import { configError } from '../model-config.js';
import { native, type NativeProcessGroup } from '../native.js';
import { enterCollective } from './collective-progress.js';
import { DEFAULT_DIST_TIMEOUT_MS } from './env.js';

/** Validation of {@link ProcessGroup.create}'s options. */
export const processGroupOptionsSchema = z
  .object({
    /** 'gloo' reduces CPU tensors; 'nccl' CUDA tensors (CUDA builds only). */
    backend: z.enum(['gloo', 'nccl'], { error: "backend must be 'gloo' or 'nccl'" }),
    rank: z.number().int().nonnegative(),
    worldSize: z.number().int().positive(),
    /** Host of rank 0, which serves the rendezvous store. */
    masterAddr: z.string().min(1).default('127.0.0.1'),
    masterPort: z.number().int().min(1).max(65535).default(29500),
    /** Timeout of the rendezvous and of each collective. */
    timeoutMs: z.number().int().positive().default(DEFAULT_DIST_TIMEOUT_MS),
    /** Where this process's tensors live: 'cpu' for gloo, 'cuda:N' for nccl. */
    device: z.string().regex(/^(cpu|cuda:\d+)$/, "device must be 'cpu' or 'cuda:N'").default('cpu'),
    /** Network interface Gloo listens on (default: loopback for a loopback master, else the host name's address). */
    glooInterface: z.string().optional(),
  })
  .strict()
  .refine((o) => o.rank < o.worldSize, { message: 'rank must be less than worldSize' });

/** Options of {@link ProcessGroup.create}. */
export type ProcessGroupOptions = z.input<typeof processGroupOptionsSchema>;

/** A joined process group; see the module comment. */
export class ProcessGroup {
  /** @internal */
  constructor(readonly handle: NativeProcessGroup) {}

  /**
   * Joins the group. Resolves once all `worldSize` processes have joined.
   * @throws MaskmixError DISTRIBUTED_TIMEOUT when they do not within `timeoutMs`; DISTRIBUTED when the rendezvous
   *   fails (port taken, master unreachable, backend not built).
   */
  static async create(options: ProcessGroupOptions): Promise<ProcessGroup> {
    const parsed = processGroupOptionsSchema.safeParse(options);
    if (!parsed.success) throw configError('process group options', parsed.error);
    return new ProcessGroup(await native().createProcessGroup(parsed.data));
  }

  get rank(): number {
    return this.handle.rank;
  }

  get worldSize(): number {
    return this.handle.worldSize;
  }

  get backend(): 'gloo' | 'nccl' {
    return this.handle.backend;
  }

  /** The device this process's collectives run on ('cpu' or 'cuda:N'). */
  get device(): string {
    return this.handle.device;
  }

  /** Resolves once every process has reached its barrier. */
  barrier(): Promise<void> {
    enterCollective('barrier');
    return this.handle.barrier();
  }

  /** Element-wise reduction of `values` over all processes; every process gets the result. */
  async allReduce(values: readonly number[] | Float64Array, op: 'sum' | 'mean' | 'max' | 'min' = 'sum'): Promise<number[]> {
    const array = values instanceof Float64Array ? values : Float64Array.from(values);
    enterCollective('all-reduce');
    return Array.from(await this.handle.allReduce(array, op));
  }

  /** Every process gets `root`'s bytes; the others pass null. */
  broadcastBytes(bytes: Uint8Array | null, root = 0): Promise<Uint8Array> {
    enterCollective('broadcast');
    return this.handle.broadcastBytes(bytes, root);
  }

  /** Every process gets `root`'s value (JSON-serialisable); the others pass undefined. */
  async broadcastJson<T>(value: T | undefined, root = 0): Promise<T> {
    const bytes = this.rank === root ? new TextEncoder().encode(JSON.stringify(value)) : null;
    return JSON.parse(new TextDecoder().decode(await this.broadcastBytes(bytes, root))) as T;
  }

  /** Leaves the group; later calls fail with DISPOSED. Work in flight finishes first. */
  destroy(): void {
    this.handle.destroy();
  }
}
