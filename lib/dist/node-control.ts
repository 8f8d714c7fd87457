/**
 * How the launchers of a multi-node job (`maskmix launch --nnodes M`) find each other and stop together. The
 * launcher of node 0 listens on the control port (default MASTER_PORT + 1); the others connect to it. Ranks start
 * only once all M launchers have joined with matching settings. Afterwards each launcher reports a failed rank to
 * node 0, which tells every node to stop its ranks; a launcher that falls silent (no ping for a few seconds) or
 * disconnects counts as a failure of its node. Messages are JSON lines over TCP.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { MaskmixError } from '../errors.js';
import type { RankFailure } from './rank-failure.js';

export interface NodeControlOptions {
  nnodes: number;
  nodeRank: number;
  nprocPerNode: number;
  /** Node 0's address (MASTER_ADDR); node 0 listens there. */
  host: string;
  port: number;
  /** How long to wait for every node to join. */
  joinTimeoutMs: number;
  pingMs?: number;
  /** Silence after which a peer launcher counts as lost. */
  deadAfterMs?: number;
}

/** One node's link to the others, once every node has joined. */
export interface NodeControl {
  /** A rank of this node failed: every other node stops too. */
  reportFailure(failure: RankFailure): void;
  /**
   * This node's ranks all finished. Node 0 resolves once every node has finished (or with the failure that
   * stopped the job); the other nodes resolve at once.
   */
  finish(): Promise<RankFailure | undefined>;
  /** Set by the launcher: called for each failure on another node, and when contact is lost. */
  onAbort?: (failure: RankFailure) => void;
  close(): void;
}

type Message =
  | { t: 'hello'; node: number; nnodes: number; nproc: number }
  | { t: 'start' }
  | { t: 'reject'; reason: string }
  | { t: 'failed'; failure: RankFailure }
  | { t: 'abort'; failure: RankFailure }
  | { t: 'done' }
  | { t: 'ping' };

function send(socket: Socket, message: Message): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
}

/** Calls `onMessage` for each JSON line arriving on `socket`; a malformed line ends the connection. */
function readMessages(socket: Socket, onMessage: (m: Message) => void): void {
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line) continue;
      let message: Message;
      try {
        message = JSON.parse(line) as Message;
      } catch {
        socket.destroy();
        return;
      }
      onMessage(message);
    }
  });
}

/** Joins the other nodes' launchers; resolves when all `nnodes` have joined. */
export function joinNodes(options: NodeControlOptions): Promise<NodeControl> {
  return options.nodeRank === 0 ? serve(options) : attach(options);
}

function lostNode(node: number, why: string): RankFailure {
  return { rank: -1, nodeRank: node, localRank: -1, reason: why, at: Date.now() };
}

async function serve(o: NodeControlOptions): Promise<NodeControl> {
  const pingMs = o.pingMs ?? 2000;
  const deadAfterMs = o.deadAfterMs ?? 10_000;
  const peers = new Map<number, { socket: Socket; lastSeen: number; done: boolean }>();
  let started = false;
  let failure: RankFailure | undefined;
  let localDone = false;
  let finished: ((f: RankFailure | undefined) => void) | undefined;
  let control: NodeControl | undefined;

  const settleFinish = () => {
    if (finished && (failure || (localDone && [...peers.values()].every((p) => p.done)))) finished(failure);
  };
  // Every failure is passed on, not just the first: each launcher names the earliest as the cause.
  const abort = (f: RankFailure, fromPeer: boolean) => {
    if (!failure || f.at < failure.at) failure = f;
    for (const p of peers.values()) send(p.socket, { t: 'abort', failure: f });
    if (fromPeer) control?.onAbort?.(f);
    settleFinish();
  };

  const server: Server = createServer((socket) => {
    let node = -1;
    readMessages(socket, (m) => {
      const peer = peers.get(node);
      if (peer) peer.lastSeen = Date.now();
      if (m.t === 'hello') {
        const problem =
          started ? 'the job has already started'
          : m.nnodes !== o.nnodes ? `it was started with --nnodes ${m.nnodes}, node 0 with ${o.nnodes}`
          : m.nproc !== o.nprocPerNode ? `it was started with --nproc-per-node ${m.nproc}, node 0 with ${o.nprocPerNode}`
          : !Number.isInteger(m.node) || m.node < 1 || m.node >= o.nnodes ? `--node-rank ${m.node} is not in 1..${o.nnodes - 1}`
          : peers.has(m.node) ? `another launcher already joined as node ${m.node}`
          : undefined;
        if (problem) {
          send(socket, { t: 'reject', reason: problem });
          socket.end();
          return;
        }
        node = m.node;
        peers.set(node, { socket, lastSeen: Date.now(), done: false });
        if (peers.size === o.nnodes - 1) {
          started = true;
          for (const p of peers.values()) send(p.socket, { t: 'start' });
          joined();
        }
      } else if (m.t === 'failed') {
        abort(m.failure, true);
      } else if (m.t === 'done' && peer) {
        peer.done = true;
        settleFinish();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      const peer = peers.get(node);
      if (!peer || peer.socket !== socket) return;
      if (!started) {
        peers.delete(node);  // it may come back before the job starts
      } else if (!peer.done) {
        abort(lostNode(node, `lost contact with the launcher of node ${node}`), true);
      }
    });
  });

  let joined!: () => void;
  const allJoined = new Promise<void>((resolve) => (joined = resolve));
  server.on('error', () => {});
  try {
    server.listen(o.port, o.host);
    await once(server, 'listening');
  } catch (error) {
    throw new MaskmixError('DISTRIBUTED', `node 0 could not listen for the other launchers on ${o.host}:${o.port}: ${(error as Error).message}`);
  }
  const timer = setTimeout(() => joined(), o.joinTimeoutMs);
  await allJoined;
  clearTimeout(timer);
  if (!started) {
    server.close();
    for (const p of peers.values()) p.socket.destroy();
    throw new MaskmixError(
      'DISTRIBUTED_TIMEOUT',
      `only ${peers.size + 1} of ${o.nnodes} nodes joined within ${Math.round(o.joinTimeoutMs / 1000)} s (control port ${o.host}:${o.port})`,
    );
  }

  const heartbeat = setInterval(() => {
    const now = Date.now();
    for (const [node, p] of peers) {
      send(p.socket, { t: 'ping' });
      if (!p.done && now - p.lastSeen > deadAfterMs) {
        abort(lostNode(node, `the launcher of node ${node} stopped answering`), true);
        p.socket.destroy();
      }
    }
  }, pingMs);
  heartbeat.unref();

  const local: NodeControl = {
    reportFailure: (f) => abort(f, false),
    finish: () => {
      localDone = true;
      const result = new Promise<RankFailure | undefined>((resolve) => (finished = resolve));
      settleFinish();
      return result;
    },
    close: () => {
      clearInterval(heartbeat);
      for (const p of peers.values()) p.socket.end();
      server.close();
    },
  };
  control = local;
  return local;
}

async function attach(o: NodeControlOptions): Promise<NodeControl> {
  const pingMs = o.pingMs ?? 2000;
  const deadAfterMs = o.deadAfterMs ?? 10_000;
  const deadline = Date.now() + o.joinTimeoutMs;
  // Node 0's launcher may start after this one: keep trying until the deadline.
  let socket: Socket | undefined;
  while (!socket) {
    const attempt = connect(o.port, o.host);
    try {
      await once(attempt, 'connect');
      socket = attempt;
    } catch {
      attempt.destroy();
      if (Date.now() > deadline) {
        throw new MaskmixError('DISTRIBUTED_TIMEOUT', `could not reach the launcher of node 0 at ${o.host}:${o.port} within ${Math.round(o.joinTimeoutMs / 1000)} s`);
      }
      await sleep(250);
    }
  }
  const s = socket;
  s.on('error', () => {});
  let lastSeen = Date.now();
  let finishing = false;
  let control: NodeControl | undefined;
  const abort = (f: RankFailure) => {
    if (!finishing) control?.onAbort?.(f);
  };

  const started = new Promise<void>((resolve, reject) => {
    readMessages(s, (m) => {
      lastSeen = Date.now();
      if (m.t === 'start') resolve();
      else if (m.t === 'reject') reject(new MaskmixError('DISTRIBUTED', `node 0 refused node ${o.nodeRank}: ${m.reason}`));
      else if (m.t === 'abort') abort(m.failure);
    });
    s.once('close', () => {
      reject(new MaskmixError('DISTRIBUTED', 'the launcher of node 0 closed the connection before the job started'));
      abort(lostNode(0, 'lost contact with the launcher of node 0'));
    });
  });
  send(s, { t: 'hello', node: o.nodeRank, nnodes: o.nnodes, nproc: o.nprocPerNode });
  const timer = setTimeout(() => s.destroy(), Math.max(0, deadline - Date.now()));
  try {
    await started;
  } finally {
    clearTimeout(timer);
  }

  const heartbeat = setInterval(() => {
    send(s, { t: 'ping' });
    if (Date.now() - lastSeen > deadAfterMs) {
      abort(lostNode(0, 'the launcher of node 0 stopped answering'));
      s.destroy();
    }
  }, pingMs);
  heartbeat.unref();

  const local: NodeControl = {
    reportFailure: (f) => send(s, { t: 'failed', failure: f }),
    finish: async () => {
      finishing = true;
      send(s, { t: 'done' });
      return undefined;
    },
    close: () => {
      finishing = true;
      clearInterval(heartbeat);
      s.end();
    },
  };
  control = local;
  return local;
}
