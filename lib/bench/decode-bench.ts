/**
 * Decoding benchmark (`maskmix bench --decode`): time per generated token and cache bytes against the position n
 * (powers of two up to the context) for the plain masked mixer re-running its prefix and with its cache, every
 * repeat-mixer structure, and Llama with a KV cache, at equal width and depth and (for Llama and the repeat
 * mixers) about equal parameter count; at batch 1 and 64. Each series ends with the log-log slope of time per
 * token against n: 0 for O(1) decoding, 1 for O(n), 2 for re-running an O(n²) prefix.
 *
 * How a point is measured: one session at batch 1 is prefilled up to n − s tokens (chunks of 512), then s steps
 * are timed, each a wall-clock interval around one awaited `step` (so it includes the TypeScript call, and on a
 * GPU a synchronize), and the median is reported. The steps run on a clone of that session with B copies of its
 * sequence (`clone({ copies: B })`), so one prefill serves every batch size. A batch size stops early, marking the
 * rest skipped, when its next point would not fit the time budget.
 *
 * With `loop: 'greedy'` a point is instead one `Decoder.greedy` call of s steps (s·steps tokens per sequence, after
 * one untimed token that captures the CUDA graph where there is one), timed as a whole and divided by s: the cost
 * of a token when generation runs natively, without a JavaScript round trip per token.
 */
import { mulberry32 } from '../data/random.js';
import { Decoder, type DecoderMode } from '../decode/decoder.js';
import { MaskmixError } from '../errors.js';
import { LanguageModel } from '../model.js';
import { LINEAR_PATTERNS, REPEAT_STRUCTURES, resolveModelConfig, type ModelConfigInput } from '../model-config.js';
import { native } from '../native.js';

export interface DecodeBenchModel {
  name: string;
  config: ModelConfigInput;
  mode: DecoderMode;
}

export interface DecodeBenchOptions {
  device: string;
  /** Context of every model, and the largest position measured (default 8192). */
  context: number;
  /** Batch sizes (default 1 and 64). */
  batches: number[];
  /** Model width and depth shared by every model (default 256 and 4). */
  dModel: number;
  nLayers: number;
  vocabSize: number;
  /** Timed steps per point at most (default 8). */
  steps: number;
  /** Seconds per model and batch size; later points are skipped once the next would not fit. */
  budgetSeconds: number;
  /** Run only these models (names from decodeBenchModels). */
  models?: string[];
  /** 'step': one awaited step() per token (default); 'greedy': one native greedy() call per point. */
  loop?: 'step' | 'greedy';
  /** The decoders' weights option (Decoder): 'int8' makes the fused greedy kernels read int8 matrices (a GPU, loop 'greedy'). */
  weights?: 'model' | 'int8';
  log?: (line: string) => void;
}

export interface DecodePoint {
  /** Tokens held once the timed steps end (the last step reads n positions). */
  position: number;
  /** Median wall time of one step, null when skipped. */
  msPerToken: number | null;
  /**
   * Memory the session holds (all B sequences), the largest seen while timing: after each step (loop 'step'), or
   * before and after the one timed call (loop 'greedy'). At n = context a pattern may drop everything after its
   * last step, no later token being left to read it.
   */
  cacheBytes: number | null;
  stepsTimed: number;
  /** loop 'greedy': whether the steps replayed a CUDA graph. */
  graphed?: boolean;
  /** loop 'greedy': whether that graph held maskmix's fused decoding kernels (decode/fused_repeat_step.h). */
  fused?: boolean;
  /** loop 'greedy': whether those kernels read int8 weights. */
  int8Weights?: boolean;
  /** loop 'greedy': whether their bf16 products ran on tensor cores (MASKMIX_DECODE_TENSOR_CORES=1). */
  tensorCores?: boolean;
}

export interface DecodeSeries {
  model: string;
  mode: 'cached' | 'full-prefix';
  parameters: number;
  batch: number;
  points: DecodePoint[];
  /** Least-squares slope of log(ms/token) against log(n) over `slopeRange`; null with fewer than 2 points. */
  slope: number | null;
  slopeRange: [number, number] | null;
}

export const DECODE_BENCH_DEFAULTS = { context: 8192, batches: [1, 64], dModel: 256, nLayers: 4, vocabSize: 8000, steps: 8, budgetSeconds: 120 };

/** Non-embedding parameters of a repeat mixer layer with the 'mixed' structure. */
function repeatLayerParameters(d: number, n: number, heads: number, ff: number): number {
  return 2 * (d * d + d) + (d * ff * d + ff * d) + (ff * d * d + d) + 4 * d + 2 * heads * n + heads;
}

/**
 * The models compared: width, depth and vocabulary shared; the Llama's SwiGLU width is chosen so its layers hold
 * as many parameters as a mixed repeat mixer's. The plain masked mixer cannot match: its n×n mixing matrices
 * alone hold n² parameters per layer (67M at n = 8192).
 */
export function decodeBenchModels(options: Pick<DecodeBenchOptions, 'context' | 'dModel' | 'nLayers' | 'vocabSize'>): DecodeBenchModel[] {
  const { context, dModel: d, nLayers, vocabSize } = options;
  const heads = 4;
  const base = { vocabSize, dModel: d, nLayers, context, seed: 0 };
  const llamaIntermediate = Math.max(8, Math.round((repeatLayerParameters(d, context, heads, 4) - 4 * d * d - 2 * d) / (3 * d)));
  return [
    { name: 'mixer-full-prefix', config: { kind: 'mixer', ...base }, mode: 'full-prefix' },
    { name: 'mixer-cached', config: { kind: 'mixer', ...base }, mode: 'cached' },
    ...REPEAT_STRUCTURES.map((structure): DecodeBenchModel => ({
      name: `repeat-${structure}`,
      config: { kind: 'repeat', ...base, nHeads: heads, structure },
      mode: 'cached',
    })),
    { name: 'llama-kv-cache', config: { kind: 'llama', ...base, nHeads: heads, intermediateSize: llamaIntermediate }, mode: 'cached' },
    // Generalized linear mixing, every pattern, with gated coefficients (their parameters do not grow as n² the
    // way static 'attention' or 'dense' ones would); kth-order reads 4 past outputs, local a window of 64.
    ...LINEAR_PATTERNS.map((pattern): DecodeBenchModel => ({
      name: `linear-${pattern}`,
      config: { kind: 'linear', ...base, nHeads: heads, pattern, coefficients: 'gated', order: 4, window: 64 },
      mode: 'cached',
    })),
  ];
}

/** Least-squares slope of log y against log x. */
export function logLogSlope(points: Array<{ x: number; y: number }>): number | null {
  if (points.length < 2) return null;
  const xs = points.map((p) => Math.log(p.x));
  const ys = points.map((p) => Math.log(p.y));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Feeds `decoder` (batch 1) random tokens until it holds `target`, in chunks; returns ms per token (NaN if none). */
async function prefillTo(decoder: Decoder, target: number, next: () => number): Promise<number> {
  const start = performance.now();
  const count = target - decoder.position;
  while (decoder.position < target) {
    const m = Math.min(512, target - decoder.position);
    (await decoder.prefill(Int32Array.from({ length: m }, next))).logits.dispose();
  }
  return count > 0 ? (performance.now() - start) / count : Number.NaN;
}

/** One model, every batch size: one batch-1 session is prefilled position after position and cloned for each batch. */
async function runModel(model: LanguageModel, spec: DecodeBenchModel, options: DecodeBenchOptions): Promise<DecodeSeries[]> {
  const rng = mulberry32(1);
  const vocab = model.config.vocabSize;
  const next = () => 1 + Math.floor(rng() * (vocab - 1));
  const cuda = options.device.startsWith('cuda');
  const positions: number[] = [];
  for (let n = 1; n <= options.context; n *= 2) positions.push(n);

  // Warm up (first-call allocations, lazy initialisation) outside the timings.
  const warm = new Decoder(model, { mode: spec.mode });
  (await warm.prefill([next(), next()])).logits.dispose();
  for (let i = 0; i < 3; i++) (await warm.step(next())).logits.dispose();
  warm.dispose();

  const series = options.batches.map((batch) => ({ batch, points: [] as DecodePoint[], lastMs: 0, skipping: false }));
  const base = new Decoder(model, { mode: spec.mode, weights: options.weights });
  const started = performance.now();
  const budgetMs = options.budgetSeconds * 1000 * options.batches.length;
  let previous = 0;
  let prefillMs = 0;
  for (const n of positions) {
    // Steps at positions n−s … n−1, never before the previous point's.
    const s = Math.max(1, Math.min(options.steps, n - previous));
    const prefillEstimate = (n - s - base.position) * prefillMs;
    for (const entry of series) {
      // Fewer steps where one is slow; skip the rest once the next point (prefill at the last rate, steps up to 4×
      // the last: an O(n²) prefix) would pass the budget.
      const steps = entry.lastMs > 0 ? Math.min(s, Math.max(2, Math.floor(5000 / entry.lastMs))) : s;
      const estimate = prefillEstimate + steps * entry.lastMs * 4;
      if (entry.skipping || (entry.points.length > 0 && performance.now() - started + estimate > budgetMs)) {
        entry.skipping = true;
        entry.points.push({ position: n, msPerToken: null, cacheBytes: null, stepsTimed: 0 });
      }
    }
    const live = series.filter((e) => !e.skipping);
    if (live.length === 0) continue;
    const rate = await prefillTo(base, n - s, next);
    if (!Number.isNaN(rate)) prefillMs = rate;
    for (const entry of live) {
      const steps = entry.lastMs > 0 ? Math.min(s, Math.max(2, Math.floor(5000 / entry.lastMs))) : s;
      const session = await base.clone({ copies: entry.batch });
      if (options.loop === 'greedy') {
        // One untimed token (captures the graph), then steps − 1 tokens in one call: positions n−s+1 … n−1.
        const first = Int32Array.from({ length: entry.batch }, next);
        await session.greedy(first, 1);
        const cacheBefore = session.cacheBytes;
        const count = Math.max(1, steps - 1);
        const t0 = performance.now();
        const { graphed, fused, int8Weights, tensorCores } = await session.greedy(first, count);
        entry.lastMs = (performance.now() - t0) / count;
        const cacheBytes = Math.max(cacheBefore, session.cacheBytes);
        entry.points.push({ position: n, msPerToken: entry.lastMs, cacheBytes, stepsTimed: count, graphed, fused, int8Weights, tensorCores });
        const kind = int8Weights ? ' (int8 weights)' : tensorCores ? ' (tensor-core products)' : '';
        const how = fused ? `, CUDA graph of fused kernels${kind}` : graphed ? ', CUDA graph' : '';
        options.log?.(`[bench] ${spec.name} b=${entry.batch} n=${n}: ${entry.lastMs.toFixed(4)} ms/token (greedy loop${how}), cache ${formatBytes(cacheBytes)}`);
        session.dispose();
        continue;
      }
      const times: number[] = [];
      let cacheBytes = 0;
      for (let i = 0; i < steps; i++) {
        const tokens = Int32Array.from({ length: entry.batch }, next);
        const t0 = performance.now();
        const r = await session.step(tokens);
        if (cuda) native().synchronize();
        times.push(performance.now() - t0);
        r.logits.dispose();
        cacheBytes = Math.max(cacheBytes, session.cacheBytes);
      }
      entry.lastMs = median(times);
      entry.points.push({ position: n, msPerToken: entry.lastMs, cacheBytes, stepsTimed: steps });
      options.log?.(`[bench] ${spec.name} b=${entry.batch} n=${n}: ${entry.lastMs.toFixed(3)} ms/token, cache ${formatBytes(cacheBytes)}`);
      session.dispose();
    }
    previous = n;
  }
  base.dispose();
  return series.map(({ batch, points }) => {
    // The slope over the largest positions measured: small n is dominated by fixed per-call costs.
    const top = points.filter((p) => p.msPerToken !== null).slice(-5);
    return {
      model: spec.name,
      mode: spec.mode === 'full-prefix' ? 'full-prefix' : 'cached',
      parameters: model.numParameters,
      batch,
      points,
      slope: logLogSlope(top.map((p) => ({ x: p.position, y: p.msPerToken! }))),
      slopeRange: top.length >= 2 ? [top[0].position, top[top.length - 1].position] : null,
    };
  });
}

/** Runs every selected model at every batch size. */
export async function runDecodeBench(options: DecodeBenchOptions): Promise<DecodeSeries[]> {
  const all = decodeBenchModels(options);
  const selected = options.models ? options.models.map((name) => {
    const found = all.find((m) => m.name === name);
    if (!found) throw new MaskmixError('INVALID_ARGUMENT', `unknown decode-bench model '${name}' (choose from ${all.map((m) => `'${m.name}'`).join(', ')})`);
    return found;
  }) : all;
  const results: DecodeSeries[] = [];
  for (const spec of selected) {
    options.log?.(`[bench] building ${spec.name}`);
    const model = await LanguageModel.create(resolveModelConfig({ ...spec.config, device: options.device }));
    try {
      results.push(...(await runModel(model, spec, options)));
    } finally {
      model.dispose();
    }
  }
  return results;
}

function formatMs(ms: number | null): string {
  if (ms === null) return '—';
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}

/** Bytes with a binary unit: 512 B, 8.0 KiB, 2.1 GiB. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}

/** Two fixed-width tables: ms per token, then cache MiB, by position; the slope ends each row of the first. */
export function formatDecodeTables(series: DecodeSeries[]): string {
  if (series.length === 0) return '';
  const positions = series[0].points.map((p) => p.position);
  const head = ['model', 'params', 'batch', ...positions.map(String)];
  const time = [[...head, 'slope (range)']];
  const cache = [head];
  for (const s of series) {
    const params = `${(s.parameters / 1e6).toFixed(1)}M`;
    const slope = s.slope === null ? '—' : `${s.slope.toFixed(2)} (${s.slopeRange![0]}–${s.slopeRange![1]})`;
    time.push([s.model, params, String(s.batch), ...s.points.map((p) => formatMs(p.msPerToken)), slope]);
    cache.push([s.model, params, String(s.batch), ...s.points.map((p) => formatBytes(p.cacheBytes))]);
  }
  return `ms per generated token, by position n:\n${table(time)}\n\ncache held (all sequences of the batch; the largest seen while timing: at n = context a pattern may drop\neverything after its last step, no later token being left to read it), by position n:\n${table(cache)}`;
}
