import { mkdirSync } from 'node:fs';

import type { Command } from 'commander';

import { MaskmixError } from '../../errors.js';
import { benchWorkload, formatBenchTable, requireGpuForReference, type BenchOptions, type WorkloadResult } from '../../bench/training-bench.js';
import { SPEC_WORKLOADS, TINY_WORKLOAD } from '../../bench/workloads.js';
import { addDecodeBenchOptions, runDecodeBenchCommand } from './decode-bench.js';
import { native } from '../../native.js';
import { log, parseNumber, printJson } from '../output.js';

export function registerBench(program: Command): void {
  const names = [...SPEC_WORKLOADS, TINY_WORKLOAD].map((w) => w.name);
  const command = program
    .command('bench')
    .summary('time maskmix training beside PyTorch (eager and torch.compile) on one GPU, or decoding (--decode)')
    .description(
      'Time maskmix training steps beside the PyTorch reference (scripts/bench/reference.py: the same models in ' +
        'plain PyTorch with bf16 autocast and fused AdamW, eager and torch.compile) on the same GPU, initial weights ' +
        'and batch. Reports the median ms/step of CUDA-event-timed steps after warm-up, tokens/s, peak GPU memory, ' +
        "the ratios to each reference, each side's initial float32 loss (equal work), and the TypeScript loop's " +
        'overhead over the device time.',
    )
    .option('--workload <name...>', `workloads to run (default: the four of SPEC §7): ${names.join(', ')}`)
    .option('--device <device>', "'cuda', 'cuda:N' or 'cpu'", 'cuda')
    .option('--warmup <n>', 'untimed steps first', parseNumber('--warmup', { integer: true, min: 1 }), 5)
    .option('--steps <n>', 'timed steps (median reported)', parseNumber('--steps', { integer: true, min: 1 }), 20)
    .option('--reference <mode...>', 'PyTorch modes to compare with: eager, compile', ['eager', 'compile'])
    .option('--no-reference', 'time maskmix alone')
    .option('--python <path>', 'python with torch for the reference', 'python3')
    .option('--profile <dir>', 'also profile 3 maskmix steps per workload: Chrome trace, top kernels and kernel time by launching operator into <dir>')
    .option('--cuda-graph', "capture maskmix's whole training step as one CUDA graph (the Trainer's cudaGraph option)")
    .option('--json', 'print the results as JSON on stdout')
    .addHelpText('after', '\nExamples:\n  maskmix bench\n  maskmix bench --workload mixer-d1024-L8-n512-b32 --reference compile --json\n  maskmix bench --workload llama-d512-L16-h4-n512-b32 --reference compile --cuda-graph\n  maskmix bench --device cpu --workload mixer-d64-L2-n64-b4 --no-reference\n  maskmix bench --decode --device cpu');
  addDecodeBenchOptions(command)
    .action(async (opts) => {
      if (opts.decode) return runDecodeBenchCommand(opts);
      const workloads = opts.workload
        ? (opts.workload as string[]).map((n) => {
            const w = [...SPEC_WORKLOADS, TINY_WORKLOAD].find((x) => x.name === n);
            if (!w) throw new MaskmixError('INVALID_ARGUMENT', `unknown workload '${n}' (choose from ${names.join(', ')})`);
            return w;
          })
        : SPEC_WORKLOADS;
      const references = opts.reference === false ? [] : (opts.reference as string[]);
      for (const r of references) if (r !== 'eager' && r !== 'compile') throw new MaskmixError('INVALID_ARGUMENT', `--reference must be eager or compile, got '${r}'`);
      if (opts.profile) mkdirSync(opts.profile, { recursive: true });
      const options: BenchOptions = {
        device: opts.device,
        warmup: opts.warmup,
        steps: opts.steps,
        references: references as BenchOptions['references'],
        python: opts.python,
        log,
        profileDir: opts.profile,
        cudaGraph: opts.cudaGraph === true,
      };
      requireGpuForReference(options);
      const results: WorkloadResult[] = [];
      for (const w of workloads) results.push(await benchWorkload(w, options));
      const runtime = native().runtimeInfo();
      const gpu = runtime.devices[0]?.name ?? 'CPU';
      if (opts.json) {
        printJson({ date: new Date().toISOString(), gpu, torch: runtime.torchVersion, cudaGraph: options.cudaGraph, results });
        return;
      }
      const graphed = options.cudaGraph ? ", maskmix's step as one CUDA graph" : '';
      process.stdout.write(`${gpu}, libtorch ${runtime.torchVersion}, ${new Date().toISOString().slice(0, 10)}${graphed}\n${formatBenchTable(results)}\n`);
    });
}
