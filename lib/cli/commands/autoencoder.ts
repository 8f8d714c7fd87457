import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Command } from 'commander';

import { evaluateReconstruction, reconstruct } from '../../autoencoder.js';
import { readModelConfig } from '../../checkpoint.js';
import { prepareBrownDataset } from '../../data/brown-dataset.js';
import { MaskmixError } from '../../errors.js';
import type { ExperimentConfig } from '../../experiment/experiment-config.js';
import { prepareExperimentData } from '../../experiment/experiment-data.js';
import { readRunExperiment } from '../../experiment/run-experiment.js';
import { openRun } from '../../run-loader.js';
import { printJson } from '../output.js';

const TRAIN_HINT = `
An autoencoder trains like any model: give \`maskmix train --config\` a model of kind 'autoencoder', e.g.
  { "model": { "kind": "autoencoder", "variant": "plain", "dModel": 256, "nLayers": 4, "context": 128, "vocabSize": 4096 }, … }
(see examples/autoencoder-brown.json); its loss scores position i against token i. "blocks": "llama" builds
encoder and decoder from Llama decoder layers instead (the paper's transformer autoencoder; examples/autoencoder-llama-brown.json).`;

/** A usage error unless `runDir` holds an autoencoder: checked first, before its run.json or data are read. */
async function requireAutoencoderRun(runDir: string, command: string): Promise<void> {
  const { kind } = await readModelConfig(runDir);
  if (kind !== 'autoencoder') {
    throw new MaskmixError(
      'INVALID_ARGUMENT',
      `${runDir} holds a '${kind}' model; 'maskmix autoencoder ${command}' needs an autoencoder run (model kind 'autoencoder', see maskmix autoencoder --help)`,
    );
  }
}

/** The run's own data; a run made before run.json stored absolute paths may name files relative to where it started. */
async function runDataOf(runDir: string, experiment: ExperimentConfig, context: number, tokenizerJson: string) {
  try {
    return await prepareExperimentData(experiment, context, tokenizerJson);
  } catch (error) {
    if (!(error instanceof MaskmixError) || error.code !== 'NOT_FOUND') throw error;
    throw new MaskmixError('NOT_FOUND', `${runDir}/run.json names data that is not here (${error.message}); a relative path is relative to the folder the run was started from: run this command there`);
  }
}

export function registerAutoencoder(program: Command): void {
  const command = program
    .command('autoencoder')
    .summary('evaluate a trained masked-mixer autoencoder')
    .description('Evaluate a trained masked-mixer autoencoder: how well it regenerates its input from one embedding.')
    .addHelpText('after', TRAIN_HINT);

  command
    .command('eval')
    .description(
      "Token accuracy and loss of reconstructing the run's validation split: the data and split of its run.json " +
        "(maskmix train --config runs), else the embedded Brown corpus' split by --seed.",
    )
    .argument('<run-dir>', 'a run of an autoencoder (config.json, model.safetensors, tokenizer.json)')
    .option('--seed <n>', "for a run without run.json: seed of the Brown train/validation document split (default 0)")
    .option('--sequences <n>', 'evaluate at most this many validation sequences', '64')
    .option('--device <device>', "'cpu' or 'cuda[:N]'", 'cpu')
    .option('--json', 'print { sequences, tokens, accuracy, loss } as JSON')
    .addHelpText('after', '\nExample:\n  maskmix autoencoder eval runs/autoencoder --json')
    .action(async (runDir: string, opts) => {
      const sequences = Number(opts.sequences);
      const seed = Number(opts.seed ?? 0);
      if (!Number.isInteger(sequences) || sequences < 1) throw new MaskmixError('INVALID_ARGUMENT', `--sequences must be a positive integer, got ${opts.sequences}`);
      if (!Number.isInteger(seed) || seed < 0) throw new MaskmixError('INVALID_ARGUMENT', `--seed must be a non-negative integer, got ${opts.seed}`);
      await requireAutoencoderRun(runDir, 'eval');
      const experiment = existsSync(join(runDir, 'run.json')) ? readRunExperiment(runDir) : undefined;
      if (experiment && opts.seed !== undefined) {
        throw new MaskmixError('INVALID_ARGUMENT', `${runDir} has a run.json: its own data split is used, so --seed does not apply`);
      }
      const run = await openRun(runDir, { device: opts.device });
      try {
        const { config } = run.model;
        const tokenizerJson = readFileSync(join(runDir, 'tokenizer.json'), 'utf8');
        // The validation documents the run itself held out, whatever its data source, seed and split.
        const valData = experiment
          ? (await runDataOf(runDir, experiment, config.context, tokenizerJson)).valData
          : (await prepareBrownDataset({ vocabSize: config.vocabSize, context: config.context, seed, tokenizerJson })).valData;
        const stats = await evaluateReconstruction(run.model, valData, { maxSequences: sequences });
        if (opts.json) printJson(stats);
        else
          process.stdout.write(
            `reconstructed ${stats.sequences} validation sequences (${stats.tokens} tokens): ` +
              `token accuracy ${(100 * stats.accuracy).toFixed(2)}%, loss ${stats.loss.toFixed(4)} nats\n`,
          );
      } finally {
        run.model.dispose();
      }
    });

  command
    .command('reconstruct')
    .description('Encode a text to one embedding and print what the decoder regenerates from it.')
    .argument('<run-dir>', 'a run of an autoencoder')
    .requiredOption('--text <text>', 'the text to encode (at most the model\'s context in tokens)')
    .option('--device <device>', "'cpu' or 'cuda[:N]'", 'cpu')
    .option('--json', 'print { tokens, reconstructed, accuracy, text } as JSON')
    .addHelpText('after', '\nExample:\n  maskmix autoencoder reconstruct runs/autoencoder --text "The jury said it was fair."')
    .action(async (runDir: string, opts) => {
      if (opts.text.length === 0) throw new MaskmixError('INVALID_ARGUMENT', '--text is empty: there is nothing to encode');
      await requireAutoencoderRun(runDir, 'reconstruct');
      const run = await openRun(runDir, { device: opts.device });
      try {
        const tokens = await run.tokenizer.encode(opts.text);
        const context = run.model.config.context;
        if (tokens.length > context)
          throw new MaskmixError('INVALID_ARGUMENT', `the text is ${tokens.length} tokens; this model encodes at most ${context}`);
        const predicted = Array.from(await reconstruct(run.model, tokens, 1));
        const accuracy = predicted.filter((t, i) => t === tokens[i]).length / tokens.length;
        const text = await run.tokenizer.decode(predicted);
        if (opts.json) printJson({ tokens, reconstructed: predicted, accuracy, text });
        else process.stdout.write(`input:         ${opts.text}\nreconstructed: ${text}\ntoken accuracy ${(100 * accuracy).toFixed(1)}% (${tokens.length} tokens)\n`);
      } finally {
        run.model.dispose();
      }
    });
}
