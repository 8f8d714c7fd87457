/** The `maskmix` command line. Each command lives in lib/cli/commands/ and calls the library API. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Command, CommanderError } from 'commander';

import { MaskmixError } from '../errors.js';
import { packageRoot } from '../native.js';
import { registerAutoencoder } from './commands/autoencoder.js';
import { registerBench } from './commands/bench.js';
import { registerBuild } from './commands/build.js';
import { registerCompare, registerSweep } from './commands/compare.js';
import { registerTokenize } from './commands/tokenize.js';
import { registerDoctor } from './commands/doctor.js';
import { registerGenerate } from './commands/generate.js';
import { registerLaunch } from './commands/launch.js';
import { registerQuickstart } from './commands/quickstart.js';
import { registerReport } from './commands/report.js';
import { registerRetrieval } from './commands/retrieval.js';
import { registerScore } from './commands/score.js';
import { registerTrain } from './commands/train.js';
import { registerInvert } from './commands/invert.js';
import { registerSynthetic } from './commands/synthetic.js';
import { exitWithError } from './output.js';

export function buildProgram(): Command {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  const program = new Command('maskmix')
    .description('Train, evaluate and sample masked mixer language models on libtorch, from Node.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    // `launch` hands everything after its command through to the ranks untouched.
    .enablePositionalOptions()
    .addHelpText('after', '\nStart here:\n  maskmix quickstart        train a small model on the embedded Brown corpus\n  maskmix train             train on Brown with your settings (--gpus N: data-parallel)\n  maskmix launch            run a script as data-parallel processes\n  maskmix doctor            check libtorch, the addon and GPUs');
  registerQuickstart(program);
  registerTrain(program);
  registerLaunch(program);
  registerGenerate(program);
  registerScore(program);
  registerAutoencoder(program);
  registerRetrieval(program);
  registerTokenize(program);
  registerCompare(program);
  registerSweep(program);
  registerBench(program);
  registerReport(program);
  registerDoctor(program);
  registerBuild(program);
  registerSynthetic(program);
  registerInvert(program);
  // Usage errors come back to us instead of exiting inside commander, so every failure ends the same way.
  // Nested commands too (`autoencoder eval`, `retrieval train`): a usage error exits 2 at every level.
  const overrideExits = (command: Command): void => {
    command.exitOverride();
    for (const sub of command.commands) overrideExits(sub);
  };
  overrideExits(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // A reader that closed the pipe early (`maskmix generate … | head`) wants no more output: stop without a stack
  // trace, with the status of a process ended by SIGPIPE (128 + 13), so `set -o pipefail` still sees it cut short.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(141);
    throw error;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; they printed already and succeed.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') process.exit(0);
      process.exit(error.exitCode === 0 ? 0 : 2);
    }
    if (error instanceof MaskmixError || error instanceof Error) exitWithError(error);
    exitWithError(new Error(String(error)));
  }
}
