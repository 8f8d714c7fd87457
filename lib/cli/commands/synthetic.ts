import type { Command } from 'commander';

import { MaskmixError } from '../../errors.js';
import { modelSetsDir, namedModelSet, readModelSet, selectModels } from '../../synthetic/model-set.js';
import { formatSyntheticTable, runSynthetic } from '../../synthetic/run-synthetic.js';
import { SYNTHETIC_TASKS, type SyntheticTaskName } from '../../synthetic/synthetic-tasks.js';
import { log, parseNumber, printJson } from '../output.js';
import { stopOnCtrlC } from '../stop-on-ctrl-c.js';

/** `--tasks copy,recall`: known task names, in the order given. */
function parseTasks(value: string): SyntheticTaskName[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(SYNTHETIC_TASKS as readonly string[]).includes(n));
  if (names.length === 0 || bad.length > 0) {
    throw new MaskmixError('INVALID_ARGUMENT', `--tasks takes a comma-separated list of ${SYNTHETIC_TASKS.join(', ')}; got '${value}'`);
  }
  return names as SyntheticTaskName[];
}

export function registerSynthetic(program: Command): void {
  program
    .command('synthetic')
    .summary('train a set of models on copy / associative recall / multi-hop recall and compare their accuracy')
    .description(
      'The synthetic suite of the structured-linear-mixing paper. Each model of a model set (named model configs) ' +
        'is trained from scratch on each task for the same number of steps, with the loss on answer tokens only, ' +
        'then scored on held-out sequences: exact-match accuracy over answer tokens. Prints a markdown table and ' +
        'writes results.json, results.md, report.html and one run folder per task and model.',
    )
    .option('--tasks <list>', `comma-separated tasks (${SYNTHETIC_TASKS.join(',')})`, parseTasks, [...SYNTHETIC_TASKS])
    .option('--models <file>', 'a model-set JSON file (format below)')
    .option('--set <name>', `a shipped model set (a file in ${modelSetsDir()}), e.g. small`)
    .option('--only <names>', 'run only these models of the set (comma-separated names)')
    .option('--steps <n>', 'training steps per task and model', parseNumber('--steps', { integer: true, min: 1 }), 150)
    .option('--batch <n>', 'sequences per step', parseNumber('--batch', { integer: true, min: 1 }), 32)
    .option('--context <n>', 'sequence length (all tasks fill it)', parseNumber('--context', { integer: true, min: 8 }), 32)
    .option('--vocab <n>', 'vocabulary size', parseNumber('--vocab', { integer: true, min: 8 }), 32)
    .option('--hops <n>', 'multi-hop: lookups per query', parseNumber('--hops', { integer: true, min: 1 }), 2)
    .option('--eval <n>', 'held-out sequences scored per task and model', parseNumber('--eval', { integer: true, min: 1 }), 256)
    .option('--lr <rate>', 'learning rate of models whose entry sets none', parseNumber('--lr', { min: 0 }), 1e-3)
    .option('--seed <n>', 'seed of weights and data', parseNumber('--seed', { integer: true, min: 0 }), 0)
    .option('--device <device>', "'cpu', 'cuda' or 'cuda:N'", 'cpu')
    .option('--out <dir>', 'folder for results (made unique if taken)', 'runs/synthetic')
    .option('--json', 'print settings and results as JSON on stdout')
    .addHelpText(
      'after',
      '\nTasks (token 0 pads, 1 is SEP; the context is filled with as many items as fit):\n' +
        '  copy      x1 … xL SEP x1 … xL              answers: the second copy\n' +
        '  recall    k1 v1 … kP vP SEP q a q a …       answers: the value bound to q (half the keys are asked)\n' +
        '  multihop  links e0 e1, e1 e2 … (shuffled) SEP e0 e2 …   answers: the chain end, --hops links from e0\n' +
        '\nA model set (the sizes vocabSize, context and padId come from the task, so leave them out):\n' +
        '  { "models": [ { "name": "mixer", "model": { "kind": "mixer", "dModel": 64, "nLayers": 2 },\n' +
        '                  "training": { "learningRate": 0.01 } }, … ] }\n' +
        '\nExamples:\n' +
        '  maskmix synthetic --set small                 (the CPU-size run: a few minutes on 2 cores)\n' +
        '  maskmix synthetic --models examples/synthetic/small.json --tasks copy,recall --only mixer,llama --json\n' +
        '  maskmix synthetic --set small --device cuda --context 256 --vocab 128 --steps 3000 --batch 64\n' +
        '\nThe same model set on the Brown corpus at equal compute (FLOPs):\n' +
        '  maskmix compare --models examples/synthetic/small.json examples/synthetic/lm-base.json --budget 1.5e11',
    )
    .action(async (opts) => {
      if (opts.models !== undefined && opts.set !== undefined) throw new MaskmixError('INVALID_ARGUMENT', 'give --models <file> or --set <name>, not both');
      if (opts.models === undefined && opts.set === undefined) throw new MaskmixError('INVALID_ARGUMENT', 'give the models: --models <file> or --set <name> (e.g. --set small)');
      const set = selectModels(
        opts.models !== undefined ? readModelSet(opts.models) : namedModelSet(opts.set),
        opts.only?.split(',').map((s: string) => s.trim()).filter(Boolean),
      );
      const stop = stopOnCtrlC();
      let lastLog = 0;
      const run = await runSynthetic(set, {
        tasks: opts.tasks,
        steps: opts.steps,
        batchSize: opts.batch,
        context: opts.context,
        vocabSize: opts.vocab,
        hops: opts.hops,
        evalSequences: opts.eval,
        learningRate: opts.lr,
        seed: opts.seed,
        device: opts.device,
        outDir: opts.out,
        signal: stop.signal,
        onRun: (task, model, i, n) => log(`[${i + 1}/${n}] ${task} × ${model}`),
        onStep: (step, steps, loss) => {
          if (step === steps || performance.now() - lastLog > 5000) {
            lastLog = performance.now();
            log(`  step ${step}/${steps}  loss ${loss.toFixed(4)}`);
          }
        },
      });
      stop.release();
      if (opts.json) {
        printJson(run);
        return;
      }
      process.stdout.write(`\n${formatSyntheticTable(run.results)}\n`);
      if (run.outDir) process.stdout.write(`\nresults in ${run.outDir} (results.json, results.md, report.html)\n`);
    });
}
