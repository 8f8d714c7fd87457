import type { Command } from 'commander';

import { MaskmixError } from '../../errors.js';
import { writeReport } from '../../report/write-report.js';
import { printJson } from '../output.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .summary('compare runs in one self-contained, offline HTML report')
    .description('Compare runs in one self-contained HTML file that opens offline: loss curves, a table, samples, configs.')
    .argument('<run-dir...>', 'run directories, each with a metrics.jsonl')
    .option('--out <file>', 'the .html file to write (parent folders are created; an existing .html file is replaced)', 'report.html')
    .option('--title <text>', 'page title', 'maskmix report')
    .option('--labels <names>', 'comma-separated run names, one per run directory (default: folder names)')
    .option('--json', 'print { "path", "runs", "bytes" } on stdout')
    .addHelpText(
      'after',
      '\nThe page plots training and validation loss against steps, wall time and training FLOPs (plus learning rate\n' +
        'and gradient norm), tabulates final train/val loss, steps, tokens, time and throughput per run, and shows\n' +
        "each run's generated sample (summary.json) and its config.json / run.json.\n" +
        '\nExamples:\n  maskmix report runs/quickstart --out report.html\n  maskmix report runs/mixer runs/llama --labels mixer,llama --out reports/compare.html',
    )
    .action(async (runDirs: string[], opts) => {
      let labels: string[] | undefined;
      if (opts.labels !== undefined) {
        labels = String(opts.labels).split(',').map((l) => l.trim());
        if (labels.length !== runDirs.length || labels.some((l) => l.length === 0)) {
          throw new MaskmixError('INVALID_ARGUMENT', `--labels needs ${runDirs.length} non-empty comma-separated names, one per run directory`);
        }
      }
      const written = await writeReport(runDirs, opts.out, { title: opts.title, labels });
      if (opts.json) printJson(written);
      else process.stdout.write(`wrote ${written.path} (${written.runs.length} run${written.runs.length === 1 ? '' : 's'}, ${Math.ceil(written.bytes / 1024)} KiB)\n`);
    });
}
