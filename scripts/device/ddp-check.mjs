#!/usr/bin/env node
// On a GPU machine (bash scripts/device/gpu-run.sh script scripts/device/ddp-check.mjs): the NCCL path with the
// GPUs at hand. Always: a one-process NCCL group on cuda:0 — its collectives, and a trainer whose gradients go
// through NCCL buckets must take the same steps as a plain trainer. With 2+ GPUs, also two ranks of
// `maskmix launch -- maskmix train --device cuda` (also with --grad-accum 2). Prints one line per check and exits
// non-zero on a failure.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { LanguageModel, ProcessGroup, Trainer, native } from '../../dist/lib/index.js';

const root = join(import.meta.dirname, '..', '..');
let failed = false;
const check = (name, ok, detail = '') => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
  failed ||= !ok;
};
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const runtime = native().runtimeInfo();
check('addon has nccl', native().distributedBackends().includes('nccl'), native().distributedBackends().join(', '));

const group = await ProcessGroup.create({ backend: 'nccl', rank: 0, worldSize: 1, device: 'cuda:0', masterPort: await freePort(), timeoutMs: 60_000 });
check('nccl all-reduce', JSON.stringify(await group.allReduce([1.5, -2], 'sum')) === '[1.5,-2]');
check('nccl broadcast', JSON.stringify(await group.broadcastJson({ a: [1, 'x'] })) === '{"a":[1,"x"]}');
await group.barrier();
check('nccl barrier', true);

/**
 * 4 steps of a trainer whose gradients go through the group's buckets beside a plain one on the same batches:
 * the largest loss and parameter differences, and the synced trainer (for its bucket counts).
 */
async function beside(trainConfig, seed) {
  const config = { vocabSize: 64, dModel: 32, nLayers: 2, context: 16, seed: 1, device: 'cuda:0' };
  const [plainModel, syncedModel] = [await LanguageModel.create(config), await LanguageModel.create(config)];
  const plain = new Trainer(plainModel, { precision: trainConfig.precision });
  const synced = new Trainer(syncedModel, trainConfig, { processGroup: group, bucketBytes: 4096 });
  let lossDiff = 0;
  for (let i = 0; i < 4; i++) {
    const tokens = Int32Array.from({ length: 4 * 16 }, (_, j) => 1 + ((j * seed + i * 13) % 63));
    const [a, b] = [await plain.step({ tokens, batch: 4 }), await synced.step({ tokens, batch: 4 })];
    lossDiff = Math.max(lossDiff, Math.abs(a.loss - b.loss));
  }
  let paramDiff = 0;
  const after = syncedModel.stateDict();
  for (const [name, t] of Object.entries(plainModel.stateDict())) {
    const [x, y] = [t.toTypedArray(), after[name].toTypedArray()];
    for (let k = 0; k < x.length; k++) paramDiff = Math.max(paramDiff, Math.abs(x[k] - y[k]));
  }
  const detail = `max |Δloss| ${lossDiff.toExponential(2)}, max |Δparam| ${paramDiff.toExponential(2)}`;
  return { close: lossDiff < 1e-5 && paramDiff < 1e-5, detail, synced };
}

for (const precision of ['fp32', 'auto']) {
  const { close, detail, synced } = await beside({ precision }, 7);
  check(`trainer over nccl buckets (${precision}, ${synced.gradientBuckets} buckets) matches a plain trainer`, close, detail);
}
{
  // Gradient accumulation under NCCL: 2 micro-batches, one bucketed all-reduce per step (no_sync for the first).
  const { close, detail, synced } = await beside({ precision: 'fp32', gradientAccumulation: 2 }, 5);
  check(`gradient accumulation 2 over nccl: ${synced.gradientBucketLaunches} bucket launches for 4 steps × ${synced.gradientBuckets} buckets, matches a plain trainer`,
    close && synced.gradientBucketLaunches === 4 * synced.gradientBuckets, detail);
}
group.destroy();

if (runtime.devices.length >= 2) {
  const n = runtime.devices.length;
  const train = (out, ...flags) =>
    spawnSync(process.execPath, [join(root, 'bin', 'maskmix.js'), 'launch', '--nproc-per-node', String(n), '--', 'maskmix', 'train',
      '--steps', '30', '--width', '64', '--depth', '2', '--context', '64', '--documents', '40', '--vocab', '500',
      '--device', 'cuda', '--out', out, '--json', '--no-progress', ...flags], { encoding: 'utf8' });
  for (const [out, flags] of [['/tmp/ddp-check-run', ['--batch', '8']], ['/tmp/ddp-check-accum', ['--batch', '4', '--grad-accum', '2']]]) {
    const r = train(out, ...flags);
    process.stderr.write(r.stderr.split('\n').slice(-15).join('\n'));
    check(`launch: ${n} ranks of maskmix train ${flags.join(' ')} over nccl`, r.status === 0, `exit ${r.status}`);
  }
} else {
  console.log(`skip  multi-rank nccl: ${runtime.devices.length} GPU here`);
}
process.exit(failed ? 1 : 0);
