import { basename, join } from 'node:path';

import { Option, type Command } from 'commander';

import { readModelConfig, saveModel } from '../../checkpoint.js';
import { mulberry32 } from '../../data/random.js';
import { MaskmixError } from '../../errors.js';
import { writeJsonAtomic } from '../../io/atomic-file.js';
import { brownRetrievalPairs, readRetrievalPairs, splitPairs, type RetrievalPair } from '../../retrieval/pairs.js';
import { evaluateRetrieval, fineTuneRetrieval } from '../../retrieval/retrieval-run.js';
import { formatTopOneTable, TABLE_SIZES, type TopOneResult } from '../../retrieval/top-one.js';
import { createRunDir } from '../../run-dir.js';
import { openRun } from '../../run-loader.js';
import { log, parseNumber, printJson } from '../output.js';
import { stopOnCtrlC } from '../stop-on-ctrl-c.js';
import { logStartOver, readTrainSettings, settingsOf, totalTrainTimeText, trainingClock, writeTrainSettings } from '../train-settings.js';
import { registerIndirectRetrieval } from './retrieval-indirect.js';

const EXPLAIN = `
Retrieval with a trained language model (paper §6): a text's embedding is the model's final hidden state at its
second-to-last token (--token last for the last), with every text cut to --length tokens and left-padded, and a
query retrieves the passage whose embedding has the highest cosine similarity.

Top-1@n (the paper's Table 1): how often the matching passage beats n − 2 other passages drawn at random, i.e.
one query against n − 1 candidates. It is computed as the exact expectation over all draws from the evaluation
pairs, so n can be at most (evaluation pairs + 1); larger n print "—".

Data: --data FILE.jsonl holds one {"query": …, "passage": …} object a line. --brown (the default) builds pairs
from the embedded Brown corpus: its sentences cut into windows of --sentences, one sentence of each window taken
out as the query, the rest of the window its passage; 10% of the documents are held out for evaluation.`;

function parseSizes(value: string): number[] {
  const sizes = value.split(',').map((s) => Number(s.trim()));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 2)) {
    throw new MaskmixError('INVALID_ARGUMENT', `--n must be a comma-separated list of integers ≥ 2, got '${value}'`);
  }
  return sizes;
}

/** Shared data and embedding flags. */
function addDataFlags(command: Command): Command {
  return command
    .option('--data <file>', 'JSONL of {"query": …, "passage": …} pairs')
    .option('--brown', 'use the built-in Brown set (the default without --data)')
    .option('--sentences <k>', 'Brown: sentences per passage window, the query included', parseNumber('--sentences', { integer: true, min: 2 }), 3)
    .option('--documents <k>', 'Brown: use only the first k of the 500 documents', parseNumber('--documents', { integer: true, min: 2 }))
    .option('--max-eval <k>', 'evaluate on at most k pairs (a seeded subset)', parseNumber('--max-eval', { integer: true, min: 2 }))
    .addOption(new Option('--n <sizes>', 'retrieval sizes n, comma-separated').argParser(parseSizes).default([...TABLE_SIZES], TABLE_SIZES.join(',')))
    .option('--token <which>', "embedding token: 'second-to-last' or 'last'", parseToken, 'second-to-last')
    .option('--length <t>', "tokens per text, cut then left-padded (default: the model's context)", parseNumber('--length', { integer: true, min: 2 }))
    .option('--batch <b>', 'texts per forward pass when embedding', parseNumber('--batch', { integer: true, min: 1 }), 64)
    .option('--seed <s>', 'seed of the Brown queries, the split and the subsets', parseNumber('--seed', { integer: true, min: 0 }), 0)
    .option('--device <device>', "'cpu' or 'cuda[:N]'", 'cpu')
    .option('--json', 'print the results as JSON on stdout');
}

export function parseToken(value: string): 'last' | 'second-to-last' {
  if (value !== 'last' && value !== 'second-to-last') throw new MaskmixError('INVALID_ARGUMENT', `--token must be 'last' or 'second-to-last', got '${value}'`);
  return value;
}

export type Opts = Record<string, unknown> & {
  data?: string;
  brown?: boolean;
  sentences: number;
  documents?: number;
  maxEval?: number;
  n: number[];
  token: 'last' | 'second-to-last';
  length?: number;
  batch: number;
  seed: number;
  device: string;
  json?: boolean;
};

/**
 * A usage error, before any data is read or text embedded, when --length exceeds the context of the run's model
 * (the model cannot embed texts longer than its context).
 */
export async function requireLengthFits(runDir: string, length: number | undefined): Promise<void> {
  if (length === undefined) return;
  const { context } = await readModelConfig(runDir);
  if (length > context) {
    throw new MaskmixError('INVALID_ARGUMENT', `--length ${length} is longer than the context of ${runDir}'s model (${context} tokens): give --length ≤ ${context}, or leave it out to use the context`);
  }
}

/** Train and evaluation pairs: Brown split by document, or a JSONL file (all of it for `eval`, 10% held out for `train`). */
export async function loadPairs(opts: Opts, purpose: 'eval' | 'train'): Promise<{ train: RetrievalPair[]; eval: RetrievalPair[]; name: string }> {
  if (opts.data !== undefined && opts.brown) throw new MaskmixError('INVALID_ARGUMENT', 'give either --data or --brown, not both');
  let train: RetrievalPair[];
  let evalSet: RetrievalPair[];
  let name: string;
  if (opts.data !== undefined) {
    const pairs = await readRetrievalPairs(opts.data);
    name = opts.data;
    if (purpose === 'eval') [train, evalSet] = [[], pairs];
    else ({ train, eval: evalSet } = splitPairs(pairs, { evalFraction: 0.1, seed: opts.seed }));
  } else {
    ({ train, eval: evalSet } = splitPairs(brownRetrievalPairs({ sentences: opts.sentences, seed: opts.seed, documents: opts.documents }), { evalFraction: 0.1, seed: opts.seed }));
    name = 'brown';
  }
  if (opts.maxEval !== undefined && evalSet.length > opts.maxEval) {
    const rng = mulberry32(opts.seed + 1);
    const order = evalSet.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    evalSet = order.slice(0, opts.maxEval).sort((a, b) => a - b).map((i) => evalSet[i]);
  }
  if (evalSet.length < 2) throw new MaskmixError('INVALID_ARGUMENT', `only ${evalSet.length} evaluation pair(s): retrieval needs at least 2`);
  return { train, eval: evalSet, name };
}

function resultsJson(results: readonly TopOneResult[]): Array<{ n: number; top1: number | null }> {
  return results.map((r) => ({ n: r.n, top1: r.accuracy ?? null }));
}

type TrainOpts = Opts & { steps: number; samples: number; group: number; temperature: number; lr: number; out?: string; checkpointEvery: number; resume?: string };

/** --help text on checkpoints and --resume, shared by both training commands. */
export function resumeHelp(command: string, example: string): string {
  return (
    `Checkpoints: every --checkpoint-every steps, after the last step and on Ctrl-C, the run's training state (weights,\n` +
    `AdamW moments, learning-rate schedule, data position) goes to <out>/checkpoint/, replacing the previous one only\n` +
    `once complete. Ctrl-C stops after the current step and saves; \`maskmix ${command} --resume <out>\` continues a\n` +
    `stopped run (a crashed one from its last checkpoint, or from step 0 if it wrote none) with the settings it\n` +
    `started with (other flags but --json are ignored) and ends where an uninterrupted run would, bit for bit on the\n` +
    `CPU, e.g.\n  maskmix ${command} --resume ${example}`
  );
}

/** A new run names its run directory; a resume names only the stopped run's output folder. */
export function checkResumeArguments(runArg: string | undefined, resume: string | undefined, what: string): void {
  if (resume !== undefined && runArg !== undefined) throw new MaskmixError('INVALID_ARGUMENT', 'give <run-dir> (a new run) or --resume <dir> (a stopped one), not both');
  if (resume === undefined && runArg === undefined) throw new MaskmixError('INVALID_ARGUMENT', `give the run directory to ${what}, or --resume <dir> to continue a stopped run`);
}

export function registerRetrieval(program: Command): void {
  const retrieval = program
    .command('retrieval')
    .summary('retrieval: top-1@n evaluation, InfoNCE fine-tuning, the indirect retrieval model')
    .description('Retrieval with a trained model: top-1@n evaluation, InfoNCE fine-tuning and the indirect retrieval model (paper §6).')
    .addHelpText('after', `${EXPLAIN}\n\nExamples:\n  maskmix retrieval eval runs/quickstart --max-eval 1000\n  maskmix retrieval train runs/quickstart --steps 100 --out runs/quickstart-retrieval`);

  addDataFlags(
    retrieval
      .command('eval')
      .description('Top-1 retrieval accuracy among n candidates, printed as the paper\'s Table 1 rows.')
      .argument('<run-dir>', 'a run directory (config.json, model.safetensors, tokenizer.json)')
      .option('--label <text>', 'row label (default: the run directory name)'),
  )
    .addHelpText('after', `${EXPLAIN}\n\nExamples:\n  maskmix retrieval eval runs/quickstart --max-eval 1000 --n 32,64,128,256,512\n  maskmix retrieval eval runs/mine --data held-out.jsonl --json`)
    .action(async (runDir: string, opts: Opts & { label?: string }) => {
      await requireLengthFits(runDir, opts.length);
      const { eval: pairs, name } = await loadPairs(opts, 'eval');
      const run = await openRun(runDir, { device: opts.device });
      log(`[embed] ${pairs.length} ${name} pairs with ${runDir}`);
      const results = await evaluateRetrieval(run.model, run.tokenizer, pairs, { sizes: opts.n, token: opts.token, length: opts.length, batchSize: opts.batch });
      run.model.dispose();
      if (opts.json) printJson({ runDir, data: name, pairs: pairs.length, token: opts.token, results: resultsJson(results) });
      else process.stdout.write(`${formatTopOneTable([{ label: opts.label ?? basename(runDir), results }])}\n(top-1 %, ${pairs.length} ${name} pairs)\n`);
    });

  addDataFlags(
    retrieval
      .command('train')
      .description('Fine-tune a trained model for retrieval with InfoNCE over cosine similarity (τ 0.02, 1 query + 1 match + 30 negatives a sample).')
      .argument('[run-dir]', 'a run directory (config.json, model.safetensors, tokenizer.json); not with --resume')
      .option('--steps <k>', 'optimizer steps', parseNumber('--steps', { integer: true, min: 1 }), 200)
      .option('--samples <s>', 'InfoNCE samples per step (--group sequences each)', parseNumber('--samples', { integer: true, min: 1 }), 4)
      .option('--group <g>', 'sequences per sample: query, match and g − 2 negatives', parseNumber('--group', { integer: true, min: 2 }), 32)
      .option('--temperature <tau>', 'InfoNCE temperature', parseNumber('--temperature', { min: 1e-6 }), 0.02)
      .option('--lr <rate>', 'peak learning rate, decayed linearly to 0 (paper: 1e-4)', parseNumber('--lr', { min: 1e-12 }), 1e-4)
      .option('--out <dir>', 'where the fine-tuned run goes (default <run-dir>-retrieval, or -N if taken)')
      .option('--checkpoint-every <k>', 'write a resumable checkpoint to <out>/checkpoint/ every k steps (0: only at the end and on Ctrl-C)', parseNumber('--checkpoint-every', { integer: true, min: 0 }), 100)
      .option('--resume <dir>', 'continue a stopped fine-tuning from the checkpoint in its output folder, with the settings it started with'),
  )
    .addHelpText(
      'after',
      `${EXPLAIN}\n\nThe table shows top-1@n on the evaluation pairs before and after fine-tuning; with --data, 10% of the\npairs are held out for it. The output directory is a run directory: evaluate it with \`maskmix retrieval eval\`.\n\n${resumeHelp('retrieval train', 'runs/quickstart-retrieval')}\n\nExamples:\n  maskmix retrieval train runs/quickstart --steps 100 --max-eval 1000\n  maskmix retrieval train runs/mine --data pairs.jsonl --steps 2000 --device cuda --out runs/mine-retrieval\n  maskmix retrieval train --resume runs/mine-retrieval`,
    )
    .action(async (runArg: string | undefined, given: TrainOpts) => {
      checkResumeArguments(runArg, given.resume, 'fine-tune');
      const resume = given.resume !== undefined;
      const settings = resume ? await readTrainSettings<TrainOpts>(given.resume!, 'retrieval train') : undefined;
      // A run stopped before its first checkpoint starts over from step 0 in its folder, with its saved settings.
      const fromCheckpoint = settings?.checkpointed === true;
      const runDir = settings?.from ?? runArg!;
      const opts: TrainOpts = settings ? { ...settings.options, json: given.json } : given;
      await requireLengthFits(runDir, opts.length);
      const { train, eval: evalPairs, name } = await loadPairs(opts, 'train');
      if (train.length < opts.group - 1) {
        throw new MaskmixError('INVALID_ARGUMENT', `${train.length} training pairs: InfoNCE with --group ${opts.group} needs at least ${opts.group - 1}`);
      }
      const run = await openRun(runDir, { device: opts.device });
      // Claim the output folder before the long work, so a taken --out fails now instead of after training.
      const outDir = settings ? given.resume! : createRunDir(opts.out ?? `${runDir.replace(/\/+$/, '')}-retrieval`, { unique: opts.out === undefined });
      if (!settings) await writeTrainSettings(outDir, { command: 'retrieval train', from: runDir, options: settingsOf(opts) });
      const evalOptions = { sizes: opts.n, token: opts.token, length: opts.length, batchSize: opts.batch };
      if (settings && !fromCheckpoint) logStartOver(outDir);
      let before: TopOneResult[] = [];
      if (!fromCheckpoint) {
        log(`[eval] before: ${evalPairs.length} ${name} evaluation pairs`);
        before = await evaluateRetrieval(run.model, run.tokenizer, evalPairs, evalOptions);
      }
      // Listening before the [train] line: a Ctrl-C from then on is a stop with a checkpoint.
      const stop = stopOnCtrlC(' and saving a checkpoint');
      log(`[train] ${opts.steps} steps × ${opts.samples} samples × ${opts.group} sequences on ${train.length} ${name} pairs`);
      const clock = trainingClock(outDir);
      const losses = await fineTuneRetrieval(run.model, run.tokenizer, train, {
        steps: opts.steps,
        samples: opts.samples,
        group: opts.group,
        temperature: opts.temperature,
        token: opts.token,
        learningRate: opts.lr,
        length: opts.length,
        seed: opts.seed,
        onStep: (step, loss) => {
          if (step === 1 || step % 10 === 0 || step === opts.steps) log(`[train] step ${step}/${opts.steps}  InfoNCE loss ${loss.toFixed(4)}`);
        },
        checkpoint: {
          dir: outDir,
          every: opts.checkpointEvery,
          resume: fromCheckpoint,
          notes: () => ({ before }),
          onResume: (step, notes, time) => {
            before = (notes as { before: TopOneResult[] }).before;
            clock.resumed(step, time);
          },
        },
        signal: stop.signal,
      }).finally(() => stop.release());
      if (losses.length < opts.steps) {
        run.model.dispose();
        log(`checkpoint saved at step ${losses.length}; continue with: maskmix retrieval train --resume ${outDir}`);
        process.exitCode = 130;
        return;
      }
      const { trainSeconds, trainSessions } = clock.total(losses.length);
      log('[eval] after');
      const after = await evaluateRetrieval(run.model, run.tokenizer, evalPairs, evalOptions);
      await saveModel(run.model, outDir);
      run.tokenizer.save(join(outDir, 'tokenizer.json'));
      const summary = {
        runDir: outDir,
        from: runDir,
        data: name,
        trainPairs: train.length,
        evalPairs: evalPairs.length,
        steps: opts.steps,
        samples: opts.samples,
        group: opts.group,
        temperature: opts.temperature,
        learningRate: opts.lr,
        token: opts.token,
        trainSeconds,
        trainSessions,
        firstLoss: losses[0],
        lastLoss: losses[losses.length - 1],
        before: resultsJson(before),
        after: resultsJson(after),
      };
      await writeJsonAtomic(join(outDir, 'retrieval.json'), summary);
      run.model.dispose();
      if (opts.json) printJson(summary);
      else
        process.stdout.write(
          `${formatTopOneTable([
            { label: 'before InfoNCE', results: before },
            { label: 'after InfoNCE', results: after },
          ])}\n(top-1 %, ${evalPairs.length} held-out ${name} pairs; loss ${losses[0].toFixed(3)} → ${losses[losses.length - 1].toFixed(3)} in ${totalTrainTimeText(trainSeconds, trainSessions)})\nfine-tuned run: ${outDir}\n`,
        );
    });
  registerIndirectRetrieval(retrieval);
  // Usage errors of the subcommands come back to main() like every other command's.
  for (const sub of retrieval.commands) sub.exitOverride();
}
