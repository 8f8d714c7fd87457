import type { Command } from 'commander';

import { readModelConfig } from '../../checkpoint.js';
import { MaskmixError } from '../../errors.js';
import { generateTokens } from '../../generate.js';
import { openRun } from '../../run-loader.js';
import { END_OF_TEXT } from '../../tokenizer/bpe-trainer.js';
import { parseNumber, printJson } from '../output.js';

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .summary('continue a prompt with a trained model, streaming the text')
    .description('Continue a prompt with a trained model, streaming the text as it is produced.')
    .argument('<run-dir>', 'a run directory (config.json, model.safetensors, tokenizer.json)')
    .requiredOption('--prompt <text>', 'text to continue')
    .option('--max-tokens <n>', 'tokens to generate at most', parseNumber('--max-tokens', { integer: true, min: 0 }), 60)
    .option('--temperature <t>', 'sampling temperature; 0 = greedy', parseNumber('--temperature', { min: 0 }), 0.8)
    .option('--top-k <k>', 'sample among the k most likely tokens (0 = all)', parseNumber('--top-k', { integer: true, min: 0 }), 40)
    .option('--top-p <p>', 'nucleus sampling mass', parseNumber('--top-p', { min: 1e-9, max: 1 }), 1)
    .option('--seed <s>', 'seed of the sampling draws', parseNumber('--seed', { integer: true, min: 0, max: 2 ** 32 - 1 }), 0)
    .option('--device <device>', "'cpu' or 'cuda[:N]'", 'cpu')
    .option(
      '--decoder <mode>',
      "'auto': decode with the model's cache (repeat mixers: O(1) per token; masked mixer, llama: cached past); " +
        "'cached': the same, but fail for a model without a cache; 'full-prefix': re-run the prefix for every token",
      'auto',
    )
    .option('--json', 'print { prompt, text, tokens } once done instead of streaming')
    .addHelpText('after', '\nExample:\n  maskmix generate runs/quickstart --prompt "The jury said" --max-tokens 40 --seed 1')
    .action(async (runDir: string, opts) => {
      if (opts.prompt.length === 0) throw new MaskmixError('INVALID_ARGUMENT', '--prompt is empty: give text to continue');
      if (!['auto', 'cached', 'full-prefix'].includes(opts.decoder)) {
        throw new MaskmixError('INVALID_ARGUMENT', `--decoder must be auto, cached or full-prefix, got '${opts.decoder}'`);
      }
      // Before anything is printed: a run that cannot generate fails with its error alone on stderr.
      const { kind } = await readModelConfig(runDir);
      if (kind === 'autoencoder') {
        throw new MaskmixError(
          'INVALID_ARGUMENT',
          `${runDir} holds an autoencoder, which reconstructs its input rather than continuing it: use 'maskmix autoencoder reconstruct ${runDir} --text …'`,
        );
      }
      const run = await openRun(runDir, { device: opts.device });
      const promptIds = await run.tokenizer.encode(opts.prompt);
      const stopToken = run.tokenizer.tokenToId(END_OF_TEXT);
      const ids: number[] = [];
      // A model whose vocabulary is larger than its tokenizer's (a padded vocabSize) can sample ids that have no
      // text: they stay in `tokens` but are left out of the text, with one warning.
      const textIds: number[] = [];
      let warnedNoText = false;
      let printed = '';
      if (!opts.json) process.stdout.write(opts.prompt);
      for await (const t of generateTokens(run.model, promptIds, {
        maxNewTokens: opts.maxTokens,
        temperature: opts.temperature,
        topK: opts.topK,
        topP: opts.topP,
        seed: opts.seed,
        stopToken,
        decoder: opts.decoder,
      })) {
        if (t.token === stopToken) break;
        ids.push(t.token);
        if (t.token < run.tokenizer.vocabSize) textIds.push(t.token);
        else if (!warnedNoText) {
          warnedNoText = true;
          process.stderr.write(`\n[warn] token id ${t.token} has no text in this run's tokenizer (${run.tokenizer.vocabSize} tokens; the model has ${run.model.config.vocabSize}): such ids are left out of the text\n`);
        }
        if (opts.json) continue;
        // Decode the whole continuation and print what is new, holding back a split multi-byte character.
        const text = await run.tokenizer.decode(textIds);
        if (!text.endsWith('\uFFFD')) {
          process.stdout.write(text.slice(printed.length));
          printed = text;
        }
      }
      const text = await run.tokenizer.decode(textIds);
      if (opts.json) printJson({ prompt: opts.prompt, text, tokens: ids });
      else process.stdout.write(text.slice(printed.length) + '\n');
      run.model.dispose();
    });
}
