// How long a file read waits while several models compute: every async native call holds one thread of libuv's
// pool, which fs and DNS share (4 threads unless UV_THREADPOOL_SIZE is set when Node starts).
//   npx tsx scripts/bench/thread-pool.ts [--models 4]
//   UV_THREADPOOL_SIZE=8 npx tsx scripts/bench/thread-pool.ts
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { LanguageModel } from '../../lib/model.js';

const { values } = parseArgs({ options: { models: { type: 'string', default: '4' } } });
const count = Number(values.models);
const models = await Promise.all(
  Array.from({ length: count }, (_, i) => LanguageModel.create({ kind: 'mixer', vocabSize: 512, dModel: 256, nLayers: 4, context: 128, seed: i })),
);
const tokens = new Int32Array(16 * 128).map((_, i) => i % 512);
const t0 = performance.now();
const calls = models.map(async (m) => {
  for (let k = 0; k < 3; k++) await m.evalLoss({ tokens, batch: 16 });
});
await new Promise((resolve) => setTimeout(resolve, 50)); // every call is running by now
const r0 = performance.now();
await readFile(new URL('../../package.json', import.meta.url));
const readMs = performance.now() - r0;
await Promise.all(calls);
console.log(
  `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 'unset (4)'}: a readFile took ${readMs.toFixed(0)} ms while ${count} models ` +
    `computed (each evalLoss of 16×128 tokens, three times; all done in ${(performance.now() - t0).toFixed(0)} ms)`,
);
for (const m of models) m.dispose();
