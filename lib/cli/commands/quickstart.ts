import type { Command } from 'commander';

import { QUICKSTART_DEFAULTS, quickstart } from '../../quickstart.js';
import { addBrownRunFlags, brownRunOptions } from '../brown-run-flags.js';
import { log, printJson } from '../output.js';
import { trainingProgress } from '../progress.js';
import { stopOnCtrlC } from '../stop-on-ctrl-c.js';

export function registerQuickstart(program: Command): void {
  const d = QUICKSTART_DEFAULTS;
  const command = program
    .command('quickstart')
    .summary('train a BPE tokenizer and a small masked mixer on the embedded Brown corpus (CPU, minutes)')
    .description(
      'Train a byte-level BPE tokenizer and a small masked mixer on the embedded Brown corpus (CPU, a few minutes), ' +
        'print train/validation loss and a sample, and write a run directory you can score and generate from.',
    );
  addBrownRunFlags(command, {
    context: 'tokens per sequence (the mixing matrices are n×n)',
    batch: 'sequences per step',
    seed: 'seed of the split, tokenizer data order, weights and sampling',
  })
    .option('--out <dir>', `run directory (default ${d.outDir}, or ${d.outDir}-N if taken)`)
    .option('--prompt <text>', 'prompt of the sample', d.prompt)
    .option('--json', 'print a summary object on stdout (logs stay on stderr)')
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      '\nExamples:\n  maskmix quickstart\n  maskmix quickstart --steps 100 --width 128 --out runs/tiny --json\n' +
        '\nThen:\n  maskmix generate runs/quickstart --prompt "The jury said"\n  maskmix score runs/quickstart --text "The jury said it was fair."\n' +
        '\nCtrl-C stops after the current step, saves what was learned and exits with status 130; before the first step\n' +
        'it keeps nothing (the run folder is removed if the quickstart made it).',
    )
    .action(async (opts) => {
      const progress = trainingProgress({ enabled: opts.progress });
      // Ctrl-C stops training after the current step; the run is still saved with what was learned (before the
      // first step nothing is kept: the quickstart fails with ABORTED, exit 130).
      const stop = stopOnCtrlC();
      const summary = await quickstart(
        { ...brownRunOptions(opts, stop.signal), prompt: opts.prompt },
        {
          onPhase: (phase, detail) => {
            if (phase === 'sample' || phase === 'save') progress.stop();
            log(`[${phase}] ${detail}`);
          },
          onStep: (p) => progress.update(p),
        },
      );
      stop.release();
      progress.stop();
      // Interrupted: what was done is kept (and reported below), but the exit status says it did not finish.
      if (stop.signal.aborted) process.exitCode = 130;
      if (opts.json) {
        printJson(summary);
        return;
      }
      const lines = [
        '',
        `run directory   ${summary.runDir}`,
        `parameters      ${(summary.parameters / 1e6).toFixed(2)}M`,
        `steps           ${summary.steps} (${summary.tokensSeen.toLocaleString('en-US')} tokens)`,
        `train loss      ${summary.trainLoss.toFixed(3)} nats/token`,
        `val loss        ${summary.valLoss.toFixed(3)} nats/token (unigram entropy ${summary.valUnigramEntropy.toFixed(3)})`,
        `throughput      ${Math.round(summary.tokensPerSecond).toLocaleString('en-US')} tokens/s`,
        `wall time       ${summary.wallSeconds.toFixed(1)} s (training ${summary.trainSeconds.toFixed(1)} s)`,
        `sample          ${summary.prompt}${summary.sample}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
