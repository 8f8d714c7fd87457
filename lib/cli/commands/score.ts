import type { Command } from 'commander';

import { MaskmixError } from '../../errors.js';
import { openRun } from '../../run-loader.js';
import { scoreTokens } from '../../score.js';
import { printJson } from '../output.js';

export function registerScore(program: Command): void {
  program
    .command('score')
    .summary('log-probability of each next token of a text under a trained model')
    .description('Log-probability of each next token of a text under a trained model.')
    .argument('<run-dir>', 'a run directory (config.json, model.safetensors, tokenizer.json)')
    .requiredOption('--text <text>', 'the text to score')
    .option('--device <device>', "'cpu' or 'cuda[:N]'", 'cpu')
    .option('--json', 'print { "tokens": [ids], "logprobs": [numbers] } where logprobs[i] = log p(tokens[i+1] | tokens[..i])')
    .addHelpText('after', '\nExample:\n  maskmix score runs/quickstart --text "The jury said it was fair." --json')
    .action(async (runDir: string, opts) => {
      if (opts.text.length === 0) throw new MaskmixError('INVALID_ARGUMENT', '--text is empty: there is nothing to score');
      const run = await openRun(runDir, { device: opts.device });
      const tokens = await run.tokenizer.encode(opts.text);
      const scores = await scoreTokens(run.model, tokens);
      if (opts.json) {
        printJson(scores);
        return;
      }
      const rows: string[] = [];
      for (let i = 0; i < scores.logprobs.length; i++) {
        const piece = await run.tokenizer.decode([scores.tokens[i + 1]]);
        rows.push(`${String(i + 1).padStart(5)}  ${JSON.stringify(piece).padEnd(20)} ${scores.logprobs[i].toFixed(4)}`);
      }
      const total = scores.logprobs.reduce((a, b) => a + b, 0);
      const mean = scores.logprobs.length ? -total / scores.logprobs.length : Number.NaN;
      process.stdout.write(
        `  pos  token                logprob\n${rows.join('\n')}\n` +
          `total log-probability ${total.toFixed(4)} over ${scores.logprobs.length} predicted tokens; ` +
          `mean loss ${mean.toFixed(4)} nats (perplexity ${Math.exp(mean).toFixed(2)})\n`,
      );
      run.model.dispose();
    });
}
