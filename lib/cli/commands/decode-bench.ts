/** `maskmix bench --decode`: the decoding benchmark's flags and output (lib/bench/decode-bench.ts measures). */
import type { Command } from 'commander';

import { DECODE_BENCH_DEFAULTS, decodeBenchModels, formatDecodeTables, runDecodeBench } from '../../bench/decode-bench.js';
import { MaskmixError } from '../../errors.js';
import { native } from '../../native.js';
import { log, parseNumber, printJson } from '../output.js';

const d = DECODE_BENCH_DEFAULTS;

/** Adds the decoding benchmark's flags to `maskmix bench`. */
export function addDecodeBenchOptions(command: Command): Command {
  const names = decodeBenchModels(d).map((m) => `'${m.name}'`);
  return command
    .option('--decode', 'benchmark decoding instead of training: time per token and cache size against the position')
    .option('--decode-models <names>', `comma-separated subset of: ${names.join(', ')}`)
    .option('--decode-batch <sizes>', `comma-separated batch sizes (default ${d.batches.join(',')})`)
    .option('--decode-context <n>', 'context of every model, and the last position measured', parseNumber('--decode-context', { integer: true, min: 2 }), d.context)
    .option('--decode-width <d>', 'model width', parseNumber('--decode-width', { integer: true, min: 8 }), d.dModel)
    .option('--decode-layers <n>', 'model depth', parseNumber('--decode-layers', { integer: true, min: 1 }), d.nLayers)
    .option('--decode-steps <n>', 'timed steps per position at most (median reported)', parseNumber('--decode-steps', { integer: true, min: 1 }), d.steps)
    .option('--decode-loop <loop>', "'step': one awaited step per token; 'greedy': native greedy generation (CUDA graphs where possible)", 'step')
    .option('--decode-weights <w>', "'model', or 'int8': with --decode-loop greedy on a GPU, the fused kernels read int8 matrices (one scale per row)", 'model')
    .option('--decode-budget <s>', 'seconds per model and batch; later positions are skipped once the next would not fit', parseNumber('--decode-budget', { min: 1 }), d.budgetSeconds);
}

function list(flag: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new MaskmixError('INVALID_ARGUMENT', `${flag} is empty`);
  return items;
}

/** Runs the decoding benchmark with the parsed flags and prints tables (or JSON). */
export async function runDecodeBenchCommand(opts: Record<string, unknown>): Promise<void> {
  const batches = (list('--decode-batch', opts.decodeBatch as string | undefined) ?? d.batches.map(String)).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new MaskmixError('INVALID_ARGUMENT', `--decode-batch sizes must be positive integers, got '${s}'`);
    return n;
  });
  const options = {
    device: opts.device as string,
    context: opts.decodeContext as number,
    batches,
    dModel: opts.decodeWidth as number,
    nLayers: opts.decodeLayers as number,
    vocabSize: d.vocabSize,
    steps: opts.decodeSteps as number,
    budgetSeconds: opts.decodeBudget as number,
    models: list('--decode-models', opts.decodeModels as string | undefined),
    loop: opts.decodeLoop as 'step' | 'greedy',
    weights: opts.decodeWeights as 'model' | 'int8',
    log,
  };
  if (options.loop !== 'step' && options.loop !== 'greedy') throw new MaskmixError('INVALID_ARGUMENT', `--decode-loop must be 'step' or 'greedy', got '${options.loop}'`);
  if (options.weights !== 'model' && options.weights !== 'int8') throw new MaskmixError('INVALID_ARGUMENT', `--decode-weights must be 'model' or 'int8', got '${options.weights}'`);
  if (options.weights === 'int8' && (options.loop !== 'greedy' || !options.device.startsWith('cuda'))) {
    throw new MaskmixError('INVALID_ARGUMENT', '--decode-weights int8 needs --decode-loop greedy and a --device cuda: only the fused greedy GPU kernels read int8 weights');
  }
  if (options.dModel % 4 !== 0) throw new MaskmixError('INVALID_ARGUMENT', '--decode-width must be a multiple of 4 (4 heads)');
  const series = await runDecodeBench(options);
  const runtime = native().runtimeInfo();
  const device = options.device.startsWith('cuda') ? (runtime.devices[0]?.name ?? options.device) : `CPU (${runtime.numThreads} threads)`;
  const { log: _log, ...settings } = options;
  if (opts.json) {
    printJson({ date: new Date().toISOString(), device, torch: runtime.torchVersion, settings, series });
    return;
  }
  process.stdout.write(
    `${device}, libtorch ${runtime.torchVersion}, ${new Date().toISOString().slice(0, 10)}; d=${options.dModel} L=${options.nLayers} ` +
      `V=${options.vocabSize} context=${options.context}, ${options.loop === 'greedy' ? 'native greedy loop' : 'one awaited step per token'}\n${formatDecodeTables(series)}\n`,
  );
}
