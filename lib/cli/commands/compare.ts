import type { Command } from 'commander';

import { compare, formatCompareTable, sweepExperiments } from '../../experiment/compare.js';
import { readExperimentConfig } from '../../experiment/experiment-config.js';
import { modelSetExperiments } from '../../experiment/model-set-experiments.js';
import { readModelSet } from '../../synthetic/model-set.js';
import { MaskmixError } from '../../errors.js';
import { parseBudget } from '../budget.js';
import { log, printJson } from '../output.js';
import { trainingProgress } from '../progress.js';
import { stopOnCtrlC } from '../stop-on-ctrl-c.js';

/** Runs the experiments with a progress bar, Ctrl-C handling and the closing table. */
async function runComparison(configs: ReturnType<typeof sweepExperiments>, opts: { out: string; budget?: string; json?: boolean; progress: boolean }) {
  const progress = trainingProgress({ enabled: opts.progress });
  const stop = stopOnCtrlC('; the current run is checkpointed');
  const result = await compare(configs, {
    outDir: opts.out,
    budget: opts.budget ? parseBudget(opts.budget) : undefined,
    signal: stop.signal,
    onRun: (name, i, n) => {
      progress.stop();
      log(`[run ${i + 1}/${n}] ${name}`);
    },
    onPhase: (phase, detail) => phase !== 'checkpoint' && log(`  [${phase}] ${detail}`),
    onStep: (p) => progress.update(p),
  });
  stop.release();
  progress.stop();
  // Interrupted: what was done is kept (and reported below), but the exit status says it did not finish.
  if (stop.signal.aborted) process.exitCode = 130;
  if (opts.json) {
    printJson(result);
    return;
  }
  process.stdout.write(`\n${formatCompareTable(result.runs)}\n\nruns in ${result.outDir}\nreport ${result.report}\n`);
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .summary('train several experiments for the same budget on the same data and compare them')
    .description(
      'Fixed-compute comparison: trains each experiment config (JSON, see `maskmix train --help`) for the same ' +
        'budget — wall time or FLOPs — on the same data, tokenizer and validation split, then prints a table and ' +
        'writes an HTML report with the loss curves (vs steps, time and FLOPs) of all runs.',
    )
    .argument('<config...>', 'experiment config files (JSON)')
    .option('--budget <amount>', 'per-run budget: 90s, 5m, 1.5h, or a FLOP count like 2e15 (overrides the configs)')
    .option('--out <dir>', 'folder for the runs and report.html', 'runs/compare')
    .option('--json', 'print the runs and paths as JSON on stdout')
    .option('--no-progress', 'no progress output')
    .option('--models <file>', 'a model set (JSON, as `maskmix synthetic --models`): run each of its models on the one <config> given, which supplies data, context and training')
    .addHelpText('after', '\nExamples:\n  maskmix compare examples/mixer-brown.json examples/llama-brown.json --budget 3m\n' +
      '  maskmix compare --models examples/synthetic/small.json examples/synthetic/lm-base.json --budget 1.5e11')
    .action(async (paths: string[], opts) => {
      if (opts.models !== undefined) {
        if (paths.length !== 1) throw new MaskmixError('INVALID_ARGUMENT', `with --models give exactly one base experiment config, got ${paths.length}`);
        await runComparison(modelSetExperiments(readModelSet(opts.models), readExperimentConfig(paths[0])), opts);
        return;
      }
      await runComparison(paths.map((p) => readExperimentConfig(p)), opts);
    });
}

/** `--grid key=v1,v2`: a dotted config path and its values (numbers where they parse, else strings). */
function parseGrid(entries: string[]): Record<string, unknown[]> {
  const grid: Record<string, unknown[]> = {};
  for (const entry of entries) {
    const m = entry.match(/^([\w.]+)=(.+)$/);
    if (!m) throw new MaskmixError('INVALID_ARGUMENT', `--grid takes path=value1,value2 (e.g. training.learningRate=1e-3,2e-3), got '${entry}'`);
    grid[m[1]] = m[2].split(',').map((v) => (v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v));
  }
  return grid;
}

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .summary('run a grid over experiment-config fields, one run after another, and compare them')
    .description(
      'Grid sweep: one run per combination of the --grid values applied to the base experiment config (JSON, see ' +
        '`maskmix train --help`), every run checked before the first starts, trained one after another on the same ' +
        'data and split, then compared in a table and an HTML report as `maskmix compare` does.',
    )
    .argument('<config>', 'the base experiment config (JSON)')
    .requiredOption('--grid <path=values...>', 'a dotted config field and comma-separated values; repeat for more fields')
    .option('--budget <amount>', 'per-run budget: 90s, 5m, 1.5h, or FLOPs like 2e15')
    .option('--out <dir>', 'folder for the runs and report.html', 'runs/sweep')
    .option('--json', 'print the runs and paths as JSON on stdout')
    .option('--no-progress', 'no progress output')
    .addHelpText('after', '\nExample:\n  maskmix sweep examples/mixer-brown.json --grid training.learningRate=1e-3,3e-3 --grid model.dModel=128,256 --budget 2m')
    .action(async (path: string, opts) => {
      const base = readExperimentConfig(path);
      await runComparison(sweepExperiments(base, parseGrid(opts.grid)), opts);
    });
}
