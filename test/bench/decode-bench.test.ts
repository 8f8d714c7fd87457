// `maskmix bench --decode` (lib/bench/decode-bench.ts): the log-log slope it reports, and a tiny run on the CPU whose
// cache column must follow each model's state: constant for a repeat mixer, growing with n for a dense linear pattern
// (also at n = context, where a pattern may drop its state after the last step) and the Llama KV cache.
import { describe, expect, it } from 'vitest';

import { formatBytes, formatDecodeTables, logLogSlope, runDecodeBench } from '../../lib/bench/decode-bench.js';

describe('logLogSlope', () => {
  it('recovers the exponent of a power law and refuses degenerate input', () => {
    const xs = [1, 2, 4, 8, 16, 1024];
    for (const k of [0, 0.5, 1, 2]) expect(logLogSlope(xs.map((x) => ({ x, y: 3 * x ** k })))).toBeCloseTo(k, 10);
    expect(logLogSlope([{ x: 4, y: 1 }])).toBeNull();
    expect(logLogSlope([{ x: 4, y: 1 }, { x: 4, y: 2 }])).toBeNull();
  });

  it('formats bytes with binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(8192)).toBe('8.0 KiB');
    expect(formatBytes(3 * 2 ** 30)).toBe('3.0 GiB');
    expect(formatBytes(null)).toBe('—');
  });
});

describe('runDecodeBench on the CPU', () => {
  it('times every model at every position and reports the cache each one holds', async () => {
    const context = 32;
    const series = await runDecodeBench({
      device: 'cpu',
      context,
      batches: [1, 2],
      dModel: 16,
      nLayers: 1,
      vocabSize: 64,
      steps: 2,
      budgetSeconds: 60,
      models: ['repeat-column', 'linear-dense', 'llama-kv-cache', 'mixer-full-prefix'],
    });
    expect(series.map((s) => `${s.model}/${s.batch}`)).toEqual([
      'repeat-column/1', 'repeat-column/2', 'linear-dense/1', 'linear-dense/2',
      'llama-kv-cache/1', 'llama-kv-cache/2', 'mixer-full-prefix/1', 'mixer-full-prefix/2',
    ]);
    const positions = [1, 2, 4, 8, 16, 32];
    for (const s of series) {
      expect(s.points.map((p) => p.position)).toEqual(positions);
      for (const p of s.points) expect(p.msPerToken).toBeGreaterThan(0);
      expect(typeof s.slope).toBe('number');
      expect(s.slopeRange).toEqual([2, 32]);
      expect(s.mode).toBe(s.model === 'mixer-full-prefix' ? 'full-prefix' : 'cached');
    }
    const cache = (model: string, batch: number) => series.find((s) => s.model === model && s.batch === batch)!.points.map((p) => p.cacheBytes!);

    // Repeat mixer: one running sum per channel, whatever n; twice the sequences, twice the bytes.
    const repeat = cache('repeat-column', 1);
    expect(new Set(repeat).size).toBe(1);
    expect(repeat[0]).toBeGreaterThan(0);
    expect(cache('repeat-column', 2)).toEqual(repeat.map((b) => 2 * b));

    // Dense linear mixing holds every past position's input: bytes ∝ n below the context, and at n = context the
    // bytes of n − 1 positions (the largest after a timed step), not the empty state left after the last step.
    const dense = cache('linear-dense', 1);
    positions.slice(0, -1).forEach((n, i) => expect(dense[i]).toBe(n * dense[0]));
    expect(dense[dense.length - 1]).toBe((context - 1) * dense[0]);
    expect(cache('linear-dense', 2)).toEqual(dense.map((b) => 2 * b));

    // The KV cache reports the capacity it holds: at least keys and values of every position held (d floats each).
    for (const batch of [1, 2]) {
      const kv = cache('llama-kv-cache', batch);
      positions.forEach((n, i) => expect(kv[i]).toBeGreaterThanOrEqual(Math.min(n, context - 1) * 2 * 16 * 4 * batch));
      kv.slice(1).forEach((b, i) => expect(b).toBeGreaterThanOrEqual(kv[i]));
    }

    const tables = formatDecodeTables(series);
    expect(tables).toContain('ms per generated token, by position n:');
    for (const model of ['repeat-column', 'linear-dense', 'llama-kv-cache', 'mixer-full-prefix']) expect(tables).toContain(model);
  }, 120_000);
});
