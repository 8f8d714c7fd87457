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

for (const precision of ['fp32', 'auto']) {
  const config = { vocabSize: 64, dModel: 32, nLayers: 2, context: 16, seed: 1, device: 'cuda:0' };
  const [plainModel, syncedModel] = [await LanguageModel.create(config), await LanguageModel.create(config)];
  const plain = new Trainer(plainModel, { precision });
  const synced = new Trainer(syncedModel, { precision }, { processGroup: group, bucketBytes: 4096 });
  let lossDiff = 0;
  for (let i = 0; i < 4; i++) {
    const tokens = Int32Array.from({ length: 4 * 16 }, (_, j) => 1 + ((j * 7 + i * 13) % 63));
    const [a, b] = [await plain.step({ tokens, batch: 4 }), await synced.step({ tokens, batch: 4 })];
    lossDiff = Math.max(lossDiff, Math.abs(a.loss - b.loss));
  }
  let paramDiff = 0;
  const after = syncedModel.stateDict();
  for (const [name, t] of Object.entries(plainModel.stateDict())) {
    const [x, y] = [t.toTypedArray(), after[name].toTypedArray()];
    for (let k = 0; k < x.length; k++) paramDiff = Math.max(paramDiff, Math.abs(x[k] - y[k]));
  }
  check(`trainer over nccl buckets (${precision}, ${synced.gradientBuckets} buckets) matches a plain trainer`, lossDiff < 1e-5 && paramDiff < 1e-5,
    `max |Δloss| ${lossDiff.toExponential(2)}, max |Δparam| ${paramDiff.toExponential(2)}`);
}
{
  // Gradient accumulation under NCCL: 2 micro-batches, one bucketed all-reduce per step (no_sync for the first).
  const config = { vocabSize: 64, dModel: 32, nLayers: 2, context: 16, seed: 1, device: 'cuda:0' };
  const [plainModel, syncedModel] = [await LanguageModel.create(config), await LanguageModel.create(config)];
  const plain = new Trainer(plainModel, { precision: 'fp32' });
  const synced = new Trainer(syncedModel, { precision: 'fp32', gradientAccumulation: 2 }, { processGroup: group, bucketBytes: 4096 });
  let lossDiff = 0;
  for (let i = 0; i < 4; i++) {
    const tokens = Int32Array.from({ length: 4 * 16 }, (_, j) => 1 + ((j * 5 + i * 11) % 63));
    const [a, b] = [await plain.step({ tokens, batch: 4 }), await synced.step({ tokens, batch: 4 })];
    lossDiff = Math.max(lossDiff, Math.abs(a.loss - b.loss));
  }
  let paramDiff = 0;
  const after = syncedModel.stateDict();
  for (const [name, t] of Object.entries(plainModel.stateDict())) {
    const [x, y] = [t.toTypedArray(), after[name].toTypedArray()];
    for (let k = 0; k < x.length; k++) paramDiff = Math.max(paramDiff, Math.abs(x[k] - y[k]));
  }
  check(`gradient accumulation 2 over nccl: ${synced.gradientBucketLaunches} bucket launches for 4 steps × ${synced.gradientBuckets} buckets, matches a plain trainer`,
    synced.gradientBucketLaunches === 4 * synced.gradientBuckets && lossDiff < 1e-5 && paramDiff < 1e-5,
    `max |Δloss| ${lossDiff.toExponential(2)}, max |Δparam| ${paramDiff.toExponential(2)}`);
}
group.destroy();

if (runtime.devices.length >= 2) {
  const n = runtime.devices.length;
  const r = spawnSync(process.execPath, [join(root, 'bin', 'maskmix.js'), 'launch', '--nproc-per-node', String(n), '--', 'maskmix', 'train',
    '--steps', '30', '--width', '64', '--depth', '2', '--context', '64', '--batch', '8', '--documents', '40', '--vocab', '500',
    '--device', 'cuda', '--out', '/tmp/ddp-check-run', '--json', '--no-progress'], { encoding: 'utf8' });
  process.stderr.write(r.stderr.split('\n').slice(-15).join('\n'));
  check(`launch: ${n} ranks of maskmix train over nccl`, r.status === 0, `exit ${r.status}`);
  const k = spawnSync(process.execPath, [join(root, 'bin', 'maskmix.js'), 'launch', '--nproc-per-node', String(n), '--', 'maskmix', 'train',
    '--steps', '30', '--width', '64', '--depth', '2', '--context', '64', '--batch', '4', '--grad-accum', '2', '--documents', '40', '--vocab', '500',
    '--device', 'cuda', '--out', '/tmp/ddp-check-accum', '--json', '--no-progress'], { encoding: 'utf8' });
  process.stderr.write(k.stderr.split('\n').slice(-15).join('\n'));
  check(`launch: ${n} ranks of maskmix train --grad-accum 2 over nccl`, k.status === 0, `exit ${k.status}`);
} else {
  console.log(`skip  multi-rank nccl: ${runtime.devices.length} GPU here`);
}
process.exit(failed ? 1 : 0);
