import type { Command } from 'commander';

import { launch } from '../../dist/launch.js';
import { parseNumber } from '../output.js';

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

export function registerLaunch(program: Command): void {
  program
    .command('launch')
    .summary('run a script or maskmix command as data-parallel processes, one per GPU or CPU worker')
    .description(
      'Run a training script or a maskmix command as data-parallel processes: one per GPU (or CPU worker) on this ' +
        'node, with RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set. If any rank ' +
        'fails or hangs, every rank (on every node) is stopped.\n\n' +
        'Output: rank 0\'s stdout passes through unprefixed, so `-- maskmix train … --json` prints parseable JSON ' +
        '(maskmix commands print results on rank 0 only); every other line (other ranks\' stdout, every rank\'s ' +
        'stderr) is led by its rank, "[rank N] ".',
    )
    .usage('[options] -- <script.ts | script.js | maskmix <command>> [args...]')
    .argument('<command...>', 'what each rank runs (after --)')
    .option('--nproc-per-node <n>', 'processes on this node', parseNumber('--nproc-per-node', { integer: true, min: 1 }), 1)
    .option('--nnodes <m>', 'nodes in the job', parseNumber('--nnodes', { integer: true, min: 1 }), 1)
    .option('--node-rank <r>', "this node's index, 0 … nnodes-1", parseNumber('--node-rank', { integer: true, min: 0 }), 0)
    .option('--master-addr <host>', 'address of node 0, which hosts the rendezvous', '127.0.0.1')
    .option('--master-port <port>', 'rendezvous port (default: a free one on a single node, 29500 across nodes)', parseNumber('--master-port', { integer: true, min: 1, max: 65535 }))
    .option('--control-port <port>', "node 0's port for the other nodes' launchers (default master port + 1)", parseNumber('--control-port', { integer: true, min: 1, max: 65535 }))
    .option('--timeout <seconds>', 'timeout of the rendezvous, of the nodes joining, and of each collective', parseNumber('--timeout', { min: 1 }), 600)
    .option('--hang-timeout <seconds>', 'a rank whose heartbeat stops this long counts as hung', parseNumber('--hang-timeout', { min: 1 }), 300)
    .option('--grace <seconds>', 'between SIGTERM and SIGKILL when stopping ranks', parseNumber('--grace', { min: 0 }), 5)
    .passThroughOptions()
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  maskmix launch --nproc-per-node 2 -- maskmix train --steps 200 --device cpu\n' +
        '  maskmix launch --nproc-per-node 8 -- my-train.ts --lr 3e-4\n' +
        '  # two nodes: run on each, with its own --node-rank\n' +
        '  maskmix launch --nnodes 2 --node-rank 0 --nproc-per-node 8 --master-addr 10.0.0.1 --master-port 29500 -- train.js',
    )
    .action(async (command: string[], opts) => {
      const controller = new AbortController();
      let stoppedBy: string | undefined;
      const onSignal = (signal: NodeJS.Signals) => {
        if (stoppedBy) process.exit(SIGNAL_EXIT[signal] ?? 1);  // a second Ctrl-C: leave now (ranks are SIGKILLed on exit)
        stoppedBy = signal;
        controller.abort();
      };
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
      const result = await launch({
        command,
        nprocPerNode: opts.nprocPerNode,
        nnodes: opts.nnodes,
        nodeRank: opts.nodeRank,
        masterAddr: opts.masterAddr,
        masterPort: opts.masterPort,
        controlPort: opts.controlPort,
        timeoutSeconds: opts.timeout,
        hangTimeoutSeconds: opts.hangTimeout,
        graceSeconds: opts.grace,
        signal: controller.signal,
      });
      process.exit(result.interrupted && stoppedBy ? (SIGNAL_EXIT[stoppedBy] ?? 1) : result.exitCode);
    });
}
