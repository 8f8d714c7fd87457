/**
 * `maskmix launch`: starts one process per rank on this node with RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,
 * MASTER_ADDR and MASTER_PORT set, prefixes their output with their rank (all but rank 0's stdout, which passes
 * through as it is, so `maskmix … --json` under launch stays parseable), and stops them together:
 *  - a rank that exits non-zero, is killed, fails to start, or stops sending heartbeats stops the whole job
 *    (SIGTERM to every rank's process group, SIGKILL after a grace period), and the launcher exits 1 naming it;
 *  - with several nodes, the launchers stay in contact (node-control.ts) so a failure anywhere stops every node;
 *  - an abort (Ctrl-C on the CLI) stops every rank the same way;
 *  - every rank leads its own process group, so anything it started goes with it, and ranks that run the
 *    bootstrap exit by themselves if the launcher disappears.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import type { Writable } from 'node:stream';

import { check } from '../errors.js';
import { joinNodes, type NodeControl } from './node-control.js';
import { prefixLines } from './output-prefixer.js';
import { resolveRankCommand } from './rank-command.js';
import { describeLaggingRanks } from './collective-progress.js';
import { describeFailure, type RankFailure } from './rank-failure.js';

/** Options of {@link launch}. */
export interface LaunchOptions {
  /** Processes on this node (one per GPU, or CPU workers). */
  nprocPerNode: number;
  nnodes?: number;
  /** This node's index, 0 … nnodes-1; node 0 hosts the rendezvous. */
  nodeRank?: number;
  /** Node 0's address (default 127.0.0.1). */
  masterAddr?: string;
  /** Rank 0's rendezvous port (default: a free port on a single node, 29500 across nodes). */
  masterPort?: number;
  /** Where node 0's launcher listens for the other launchers (default masterPort + 1). */
  controlPort?: number;
  /** Timeout of the ranks' rendezvous and collectives, and of the nodes joining (default 600 s). */
  timeoutSeconds?: number;
  /** A rank whose heartbeats stop for this long counts as hung (default 300 s). */
  hangTimeoutSeconds?: number;
  /** Between SIGTERM and SIGKILL when stopping ranks (default 5 s). */
  graceSeconds?: number;
  /** What each rank runs: `script.ts …`, `script.js …`, `maskmix <command> …`, or any executable. */
  command: readonly string[];
  /** Extra environment for the ranks. */
  env?: NodeJS.ProcessEnv;
  stdout?: Writable;
  stderr?: Writable;
  /** The launcher's own messages (default: stderr, prefixed `maskmix launch:`). */
  log?: (message: string) => void;
  /** Aborting stops every rank (the CLI aborts on Ctrl-C). */
  signal?: AbortSignal;
}

/** How a launch ended. */
export interface LaunchResult {
  /** 0 when every rank (on every node) succeeded; 1 after a failure; 128+n after a stop by signal n. */
  exitCode: number;
  /** The failure that stopped the job, if one did. */
  failure?: RankFailure;
  /** True when stopped through `signal`. */
  interrupted: boolean;
}

interface RankProcess {
  rank: number;
  localRank: number;
  child: ChildProcess;
  running: boolean;
  lastBeat?: number;
  /** Collectives entered, as of the last heartbeat (collective-progress.ts). */
  progress?: { entered: number; last?: string };
  output: Promise<void[]>;
}

/** A port the OS considers free on `host` right now. */
async function freePort(host: string): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const address = server.address();
  server.close();
  check(typeof address === 'object' && address !== null, 'could not find a free port');
  return address.port;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);  // the rank's whole process group
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Runs `command` as `nprocPerNode` ranks on this node and resolves when they have all stopped. */
export async function launch(options: LaunchOptions): Promise<LaunchResult> {
  const nproc = options.nprocPerNode;
  const nnodes = options.nnodes ?? 1;
  const nodeRank = options.nodeRank ?? 0;
  check(Number.isInteger(nproc) && nproc >= 1, `--nproc-per-node must be a positive integer, got ${nproc}`);
  check(Number.isInteger(nnodes) && nnodes >= 1, `--nnodes must be a positive integer, got ${nnodes}`);
  check(Number.isInteger(nodeRank) && nodeRank >= 0 && nodeRank < nnodes, `--node-rank must be in 0..${nnodes - 1}, got ${nodeRank}`);
  const timeoutMs = Math.round((options.timeoutSeconds ?? 600) * 1000);
  const hangMs = Math.round((options.hangTimeoutSeconds ?? 300) * 1000);
  const graceMs = Math.round((options.graceSeconds ?? 5) * 1000);
  check(timeoutMs > 0 && hangMs > 0 && graceMs >= 0, 'timeouts must be positive');
  const log = options.log ?? ((m: string) => process.stderr.write(`maskmix launch: ${m}\n`));
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  // Looked up on the PATH the ranks get (options.env over process.env, as below), which spawn searches.
  const command = resolveRankCommand(options.command, { ...process.env, ...options.env }.PATH);
  const masterAddr = options.masterAddr ?? '127.0.0.1';
  const masterPort = options.masterPort ?? (nnodes === 1 ? await freePort(masterAddr) : 29500);
  const worldSize = nnodes * nproc;

  let control: NodeControl | undefined;
  if (nnodes > 1) {
    const controlPort = options.controlPort ?? masterPort + 1;
    log(`node ${nodeRank} of ${nnodes}: waiting for the other nodes (control ${masterAddr}:${controlPort})`);
    control = await joinNodes({ nnodes, nodeRank, nprocPerNode: nproc, host: masterAddr, port: controlPort, joinTimeoutMs: timeoutMs });
  }
  if (options.signal?.aborted) {
    control?.close();
    return { exitCode: 130, interrupted: true };
  }

  const threads = String(Math.max(1, Math.floor(availableParallelism() / nproc)));
  const ranks: RankProcess[] = [];
  for (let localRank = 0; localRank < nproc; localRank++) {
    const rank = nodeRank * nproc + localRank;
    const env: NodeJS.ProcessEnv = {
      // Ranks share this node's cores; libtorch would otherwise give each one all of them.
      OMP_NUM_THREADS: threads,
      ...process.env,
      ...options.env,
      RANK: String(rank),
      LOCAL_RANK: String(localRank),
      WORLD_SIZE: String(worldSize),
      LOCAL_WORLD_SIZE: String(nproc),
      GROUP_RANK: String(nodeRank),
      MASTER_ADDR: masterAddr,
      MASTER_PORT: String(masterPort),
      MASKMIX_DIST_TIMEOUT_MS: String(timeoutMs),
      MASKMIX_LAUNCHED: '1',
    };
    const child = spawn(command.file, command.args, {
      env,
      detached: true,  // its own process group: stopping the rank stops whatever it started
      stdio: command.bootstrapped ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    });
    const prefix = `[rank ${rank}] `;
    // Rank 0's stdout is where maskmix commands print results (JSON included) and the other ranks print nothing,
    // so it passes through unprefixed (still line by line); other ranks' stdout and every stderr line are prefixed.
    const output = Promise.all([prefixLines(child.stdout!, stdout, rank === 0 ? '' : prefix), prefixLines(child.stderr!, stderr, prefix)]);
    ranks.push({ rank, localRank, child, running: true, output });
    if (child.pid !== undefined) log(`rank ${rank} (local rank ${localRank}) started, pid ${child.pid}`);
  }

  return new Promise<LaunchResult>((resolve) => {
    let failure: RankFailure | undefined;
    let interrupted = false;
    let stopping = false;
    let killTimer: NodeJS.Timeout | undefined;

    const killRemaining = () => {
      for (const r of ranks) if (r.running) signalGroup(r.child, 'SIGKILL');
    };
    // Should the launcher itself go down, it takes its ranks with it.
    process.on('exit', killRemaining);

    const stop = () => {
      if (stopping) return;
      stopping = true;
      for (const r of ranks) if (r.running) signalGroup(r.child, 'SIGTERM');
      killTimer = setTimeout(killRemaining, graceMs);
    };

    const fail = (f: RankFailure, fromElsewhere = false) => {
      // The earliest failure is the cause; the ones right after it are usually peers losing their connection.
      if (!failure || f.at < failure.at) failure = f;
      if (stopping) return;
      log(`${describeFailure(f)}; stopping ${fromElsewhere ? 'this node\'s' : 'all'} ranks`);
      if (!fromElsewhere) control?.reportFailure(f);
      stop();
    };

    const watchdog = setInterval(() => {
      const now = Date.now();
      for (const r of ranks) {
        if (r.running && r.lastBeat !== undefined && now - r.lastBeat > hangMs) {
          fail({ rank: r.rank, nodeRank, localRank: r.localRank, reason: `stopped responding (no heartbeat for ${Math.round(hangMs / 1000)} s)`, at: now });
        }
      }
    }, Math.min(1000, hangMs));

    const onAbort = () => {
      if (stopping) return;
      interrupted = true;
      log('interrupted; stopping all ranks');
      stop();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (control) control.onAbort = (f) => fail(f, true);

    const settle = async () => {
      if (ranks.some((r) => r.running)) return;
      clearInterval(watchdog);
      if (killTimer) clearTimeout(killTimer);
      process.off('exit', killRemaining);
      options.signal?.removeEventListener('abort', onAbort);
      await Promise.all(ranks.map((r) => r.output));
      if (!failure && !interrupted && control) {
        const elsewhere = await control.finish();
        if (elsewhere) {
          failure = elsewhere;
          log(`${describeFailure(elsewhere)}; the job failed`);
        }
      }
      control?.close();
      if (failure) {
        log(`failed: ${describeFailure(failure)}`);
        // A collective that timed out names the rank that waited; the one behind in collectives is the one that stalled.
        const reported = ranks.flatMap((r) => (r.progress ? [{ rank: r.rank, ...r.progress }] : []));
        for (const line of describeLaggingRanks(reported)) log(line);
      }
      resolve({ exitCode: failure ? 1 : interrupted ? 130 : 0, failure, interrupted });
    };

    for (const r of ranks) {
      const where = { rank: r.rank, nodeRank, localRank: r.localRank };
      r.child.on('message', (m: { type?: string; entered?: unknown; last?: unknown }) => {
        if (m?.type !== 'heartbeat') return;
        r.lastBeat = Date.now();
        if (typeof m.entered === 'number') r.progress = { entered: m.entered, last: typeof m.last === 'string' ? m.last : undefined };
      });
      r.child.on('error', (error) => {
        if (!r.running) return;
        r.running = false;
        fail({ ...where, reason: `could not be started: ${error.message}`, at: Date.now() });
        void settle();
      });
      r.child.on('exit', (code, signal) => {
        if (!r.running) return;
        r.running = false;
        // Exits after we began stopping the job are our own doing, not failures.
        if (code !== 0 && !stopping) fail({ ...where, reason: code !== null ? `exited with code ${code}` : `was killed by ${signal}`, at: Date.now() });
        void settle();
      });
    }
  });
}
