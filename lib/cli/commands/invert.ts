import type { Command } from 'commander';

import { MaskmixError } from '../../errors.js';
import { INVERSION_DEFAULTS, invertInput } from '../../inversion.js';
import { LanguageModel } from '../../model.js';
import { openRun } from '../../run-loader.js';
import { parseNumber, printJson } from '../output.js';

export function registerInvert(program: Command): void {
  program
    .command('invert')
    .summary("recover a text from a model's hidden state (input representation, paper §3.1)")
    .description(
      "Input representation (paper §3.1): recover a text from a model's hidden state at one layer by gradient descent on " +
        'input embeddings and the pseudo-inverse of the embedding table; prints the recovered text and the normalised Hamming distance.',
    )
    .argument('<run-dir>', 'a run directory (config.json, model.safetensors, tokenizer.json); any model kind')
    .requiredOption('--text <text>', 'the input whose hidden state is inverted (at most the model context in tokens)')
    .option('--layer <l>', 'match the hidden state after this many blocks (default: the last)', parseNumber('--layer', { integer: true, min: 1 }))
    .option('--iterations <n>', 'gradient-descent iterations', parseNumber('--iterations', { integer: true, min: 1 }), INVERSION_DEFAULTS.iterations)
    .option('--lr <eta>', 'initial learning rate η (decays linearly to η/10) of the descent on the per-token L1 distance', parseNumber('--lr', { min: 1e-12 }), INVERSION_DEFAULTS.learningRate)
    .option('--seed <s>', 'seed of the random initial embeddings', parseNumber('--seed', { integer: true, min: 0 }), INVERSION_DEFAULTS.seed)
    .option('--untrained', "invert the run's architecture with fresh initial weights (its config's seed) instead of the trained ones")
    .option('--device <device>', "'cpu' or 'cuda[:N]'", 'cpu')
    .option('--json', 'print { layer, tokens, recoveredTokens, text, recovered, hamming, initialLoss, loss } as JSON')
    .addHelpText('after', '\nExample:\n  maskmix invert runs/quickstart --text "The jury said it was fair." --layer 2')
    .action(async (runDir: string, opts) => {
      if (opts.text.length === 0) throw new MaskmixError('INVALID_ARGUMENT', '--text is empty: there is nothing to invert');
      const run = await openRun(runDir, { device: opts.device });
      if (opts.untrained) {
        const config = run.model.config;
        run.model.dispose();
        run.model = await LanguageModel.create(config);
      }
      try {
        const tokens = await run.tokenizer.encode(opts.text);
        const result = await invertInput(run.model, tokens, { layer: opts.layer, iterations: opts.iterations, learningRate: opts.lr, seed: opts.seed });
        const recovered = await run.tokenizer.decode(Array.from(result.tokens));
        if (opts.json) {
          printJson({
            kind: run.model.config.kind,
            untrained: Boolean(opts.untrained),
            layer: result.layer,
            iterations: result.iterations,
            learningRate: result.learningRate,
            tokens: Array.from(tokens),
            recoveredTokens: Array.from(result.tokens),
            text: opts.text,
            recovered,
            hamming: result.hamming,
            initialLoss: result.initialLoss,
            loss: result.loss,
          });
          return;
        }
        process.stdout.write(
          `input     ${JSON.stringify(opts.text)}\nrecovered ${JSON.stringify(recovered)}\n` +
            `${run.model.config.kind} layer ${result.layer}/${run.model.config.nLayers}: normalised Hamming distance ${result.hamming.toFixed(4)} ` +
            `over ${tokens.length} tokens; L1 ${result.initialLoss.toExponential(3)} → ${result.loss.toExponential(3)} in ${result.iterations} iterations\n`,
        );
      } finally {
        run.model.dispose();
      }
    });
}
