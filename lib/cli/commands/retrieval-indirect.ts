/**
 * `maskmix retrieval indirect-train|indirect-eval`: the indirect retrieval model of paper §6.2 — a trained language
 * model embeds query and passage texts once, and a separate bidirectional mixer learns to pick a query's passage
 * among c − 1 candidates from those frozen embeddings.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Command } from 'commander';

import { MaskmixError } from '../../errors.js';
import { writeJsonAtomic } from '../../io/atomic-file.js';
import { readSafetensors, writeSafetensors } from '../../io/safetensors.js';
import type { LanguageModel } from '../../model.js';
import { embed, type EmbeddingToken } from '../../retrieval/embed.js';
import { evaluateIndirectRetrieval, trainIndirectRetrieval, type EmbeddedPairs, type IndirectEvalResult } from '../../retrieval/indirect-run.js';
import type { RetrievalPair } from '../../retrieval/pairs.js';
import { RetrievalMixer } from '../../retrieval/retrieval-mixer.js';
import { embeddingTopOne } from '../../retrieval/top-one.js';
import { requireDirectory } from '../../checkpoint.js';
import { createRunDir } from '../../run-dir.js';
import { openRun } from '../../run-loader.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { log, parseNumber, printJson } from '../output.js';
import { stopOnCtrlC } from '../stop-on-ctrl-c.js';
import { logStartOver, readTrainSettings, settingsOf, totalTrainTimeText, trainingClock, writeTrainSettings } from '../train-settings.js';
import { checkResumeArguments, loadPairs, parseToken, resumeHelp, type Opts } from './retrieval.js';

export const INDIRECT_RESULTS_FILE = 'indirect-retrieval.json';
const EVAL_EMBEDDINGS_FILE = 'eval-embeddings.safetensors';

const EXPLAIN = `
The indirect retrieval model (paper §6.2, Figure 9). The language model of <run-dir> stays frozen: it embeds
every query and passage once (its final hidden state at the second-to-last token, texts left-padded to --length
tokens). A separate, small model then learns retrieval from those embeddings alone:

  input      c embeddings: position 0 a query, positions 1 … c−1 candidate passages — the query's match at one
             random position, c − 2 other passages drawn at random (the paper's Algorithm 1)
  blocks     --layers mixer blocks with BIDIRECTIONAL token mixing: one full c×c matrix between positions (no
             causal mask: every candidate is compared with every other and with the query), then a per-position
             feed-forward; both pre-LayerNorm with residuals
  output     a d → 1 head on each candidate's final hidden state; softmax over the c − 1 candidate logits (the
             query's own position is no candidate and gets no logit) is trained by cross-entropy against the
             match's position

Only the retrieval model learns; no gradient reaches the embeddings or the language model. Results: mean
cross-entropy (nats) and top-1 accuracy on Algorithm 1 samples of held-out pairs, beside chance (ln(c−1) and
1/(c−1)) and the embeddings' own cosine-similarity top-1 among the same c − 1 candidates.

Data: --data FILE.jsonl ({"query": …, "passage": …} a line) or the built-in Brown set (--brown, the default; see
\`maskmix retrieval --help\`). --pairs brown|FILE.jsonl says the same in one flag. 10% of the pairs (by document
or file line) are held out; both sides need at least c pairs.`;

type IndirectOpts = Opts & { pairs?: string };
type IndirectTrainOpts = IndirectOpts & { context: number; layers: number; steps: number; samples: number; lr: number; evalEvery: number; rounds: number; out?: string; checkpointEvery: number; resume?: string };

function resolvePairsFlag(opts: IndirectOpts): void {
  if (opts.pairs === undefined) return;
  if (opts.data !== undefined || opts.brown) throw new MaskmixError('INVALID_ARGUMENT', 'give --pairs, or --data / --brown, not both');
  if (opts.pairs === 'brown') opts.brown = true;
  else opts.data = opts.pairs;
}

/** Flags of both commands that choose and embed the pairs. */
function addPairFlags(command: Command): Command {
  return command
    .option('--pairs <source>', "'brown' (the default) or a JSONL file of {\"query\": …, \"passage\": …} pairs")
    .option('--data <file>', 'JSONL of {"query": …, "passage": …} pairs (same as --pairs FILE)')
    .option('--brown', 'use the built-in Brown set (same as --pairs brown)')
    .option('--sentences <k>', 'Brown: sentences per passage window, the query included', parseNumber('--sentences', { integer: true, min: 2 }), 3)
    .option('--documents <k>', 'Brown: use only the first k of the 500 documents', parseNumber('--documents', { integer: true, min: 2 }))
    .option('--max-eval <k>', 'evaluate on at most k held-out pairs (a seeded subset)', parseNumber('--max-eval', { integer: true, min: 2 }))
    .option('--batch <b>', 'texts per forward pass when embedding', parseNumber('--batch', { integer: true, min: 1 }), 64)
    .option('--seed <s>', 'seed of the Brown queries, the split, the retrieval model and its samples', parseNumber('--seed', { integer: true, min: 0 }), 0)
    .option('--rounds <r>', 'evaluation: passes of Algorithm 1 over the held-out pairs (one sample per pair each)', parseNumber('--rounds', { integer: true, min: 1 }), 1)
    .option('--device <device>', "'cpu' or 'cuda[:N]'", 'cpu')
    .option('--json', 'print the results as JSON on stdout');
}

async function embedPairs(model: LanguageModel, tokenizer: Tokenizer, pairs: readonly RetrievalPair[], what: string, embedding: { token: EmbeddingToken; length?: number; batch: number }): Promise<EmbeddedPairs> {
  const total = 2 * pairs.length;
  let last = 0;
  const progress = (done: number) => {
    if (done === total || done - last >= Math.max(256, total / 10)) {
      log(`[embed] ${what}: ${done}/${total} texts`);
      last = done;
    }
  };
  const options = { tokenizer, token: embedding.token, length: embedding.length, batchSize: embedding.batch };
  const queries = await embed(model, pairs.map((p) => p.query), { ...options, onProgress: (d) => progress(d) });
  const targets = await embed(model, pairs.map((p) => p.passage), { ...options, onProgress: (d) => progress(pairs.length + d) });
  return { queries, targets };
}

function requirePairs(count: number, context: number, what: string, hint: string): void {
  if (count < context) {
    throw new MaskmixError('INVALID_ARGUMENT', `${count} ${what} pairs: a retrieval of --context ${context} needs at least ${context} (the query's match and ${context - 2} others drawn from them); ${hint}`);
  }
}

/** Cosine-similarity top-1 of the raw embeddings among c − 1 candidates (exact expectation, top-one.ts). */
function cosineTopOne(pairs: EmbeddedPairs, context: number): number {
  return embeddingTopOne(pairs.queries, pairs.targets, [context])[0].accuracy ?? Number.NaN;
}

function formatResults(rows: ReadonlyArray<[string, { loss: number; top1: number }]>, context: number): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  const header = `${'c = ' + context}`.padEnd(width) + '   CE (nats)   top-1 %';
  const lines = rows.map(([label, r]) => `${label.padEnd(width)}   ${(Number.isNaN(r.loss) ? '—' : r.loss.toFixed(3)).padStart(9)}   ${(100 * r.top1).toFixed(1).padStart(7)}`);
  return [header, ...lines].join('\n');
}

function evalSummary(r: IndirectEvalResult): { loss: number; top1: number; samples: number } {
  return { loss: r.loss, top1: r.top1, samples: r.samples };
}

async function saveEvalEmbeddings(dir: string, pairs: EmbeddedPairs): Promise<void> {
  const shape = [pairs.queries.count, pairs.queries.dim];
  await writeSafetensors(join(dir, EVAL_EMBEDDINGS_FILE), {
    queries: { dtype: 'F32', shape, data: pairs.queries.vectors },
    targets: { dtype: 'F32', shape, data: pairs.targets.vectors },
  });
}

interface TrainedSummary {
  from: string;
  embedding: { token: EmbeddingToken; length: number | null };
}

/** The parts of indirect-train's results file that indirect-eval needs: where the embeddings came from and how. */
async function readTrainedSummary(path: string): Promise<TrainedSummary> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new MaskmixError('CHECKPOINT_INVALID', `${path} is not valid JSON: ${(error as Error).message}`);
  }
  const r = raw as Partial<TrainedSummary> | null;
  if (typeof r?.from !== 'string' || typeof r.embedding?.token !== 'string') {
    throw new MaskmixError('CHECKPOINT_INVALID', `${path} is not valid: it lacks "from" or "embedding.token" (was it written by indirect-train?)`);
  }
  return r as TrainedSummary;
}

async function readEvalEmbeddings(dir: string): Promise<EmbeddedPairs> {
  const file = await readSafetensors(join(dir, EVAL_EMBEDDINGS_FILE));
  const get = (name: string) => {
    const t = file.tensors.get(name);
    if (!t || t.dtype !== 'F32' || t.shape.length !== 2) throw new MaskmixError('CHECKPOINT_INVALID', `${EVAL_EMBEDDINGS_FILE} has no F32 [pairs, d] tensor '${name}'`);
    return { vectors: t.data as Float32Array, count: t.shape[0], dim: t.shape[1] };
  };
  return { queries: get('queries'), targets: get('targets') };
}

export function registerIndirectRetrieval(retrieval: Command): void {
  addPairFlags(
    retrieval
      .command('indirect-train')
      .description('Train the indirect retrieval model (paper §6.2) on frozen embeddings from a trained run; evaluate it on held-out pairs.')
      .argument('[run-dir]', 'a trained run directory (config.json, model.safetensors, tokenizer.json): the embedding model; not with --resume')
      .option('--context <c>', 'embeddings per retrieval: the query and c − 1 candidates (the paper: 32 … 1024)', parseNumber('--context', { integer: true, min: 2 }), 32)
      .option('--layers <k>', 'mixer blocks of the retrieval model', parseNumber('--layers', { integer: true, min: 1 }), 4)
      .option('--steps <k>', 'optimizer steps', parseNumber('--steps', { integer: true, min: 1 }), 500)
      .option('--samples <s>', 'Algorithm 1 samples per step (the paper: 512)', parseNumber('--samples', { integer: true, min: 1 }), 32)
      .option('--lr <rate>', 'peak learning rate: warm-up over a tenth of the steps (≤ 100), then linear decay to 0', parseNumber('--lr', { min: 1e-12 }), 1e-3)
      .option('--eval-every <k>', 'also evaluate every k steps (0: only before and after)', parseNumber('--eval-every', { integer: true, min: 0 }), 0)
      .option('--token <which>', "embedding token: 'second-to-last' or 'last'", parseToken, 'second-to-last')
      .option('--length <t>', "tokens per text, cut then left-padded (default: the model's context)", parseNumber('--length', { integer: true, min: 2 }))
      .option('--out <dir>', 'where the retrieval model and results go (default <run-dir>-indirect, or -N if taken)')
      .option('--checkpoint-every <k>', 'write a resumable checkpoint to <out>/checkpoint/ every k steps (0: only at the end and on Ctrl-C)', parseNumber('--checkpoint-every', { integer: true, min: 0 }), 100)
      .option('--resume <dir>', 'continue a stopped run from the checkpoint in its output folder, with the settings it started with'),
  )
    .addHelpText(
      'after',
      `${EXPLAIN}\n\nThe output directory holds retrieval-mixer.json + retrieval-mixer.safetensors (the model), ${EVAL_EMBEDDINGS_FILE}\n(the held-out pairs' embeddings, for indirect-eval) and ${INDIRECT_RESULTS_FILE} (settings, losses, results).\n\n${resumeHelp('retrieval indirect-train', 'runs/quickstart-indirect')}\n\nExamples:\n  maskmix retrieval indirect-train runs/quickstart --context 32 --steps 500\n  maskmix retrieval indirect-train runs/mine --pairs pairs.jsonl --context 128 --samples 512 --steps 2000 --device cuda`,
    )
    .action(
      async (runArg: string | undefined, given: IndirectTrainOpts) => {
        checkResumeArguments(runArg, given.resume, 'embed with');
        const settings = given.resume !== undefined ? await readTrainSettings<IndirectTrainOpts>(given.resume, 'retrieval indirect-train') : undefined;
        // A run stopped before its first checkpoint starts over from step 0 in its folder, with its saved settings.
        const fromCheckpoint = settings?.checkpointed === true;
        const runDir = settings?.from ?? runArg!;
        const opts: IndirectTrainOpts = settings ? { ...settings.options, json: given.json } : given;
        resolvePairsFlag(opts);
        const { train, eval: evalPairs, name } = await loadPairs(opts, 'train');
        const hint = name === 'brown' ? 'use more --documents or a smaller --context' : 'give more pairs or a smaller --context';
        requirePairs(train.length, opts.context, 'training', hint);
        requirePairs(evalPairs.length, opts.context, 'held-out', hint);
        const run = await openRun(runDir, { device: opts.device });
        // Claim the output folder before the long work, so a taken --out fails now instead of after training.
        let outDir: string;
        try {
          outDir = settings ? given.resume! : createRunDir(opts.out ?? `${runDir.replace(/\/+$/, '')}-indirect`, { unique: opts.out === undefined });
          // Before any long work: what a --resume needs to rebuild this run (--pairs is saved as the --data/--brown it set).
          const { pairs: _resolved, ...options } = settingsOf(opts);
          if (!settings) await writeTrainSettings(outDir, { command: 'retrieval indirect-train', from: runDir, options });
        } catch (error) {
          run.model.dispose();
          throw error;
        }
        if (settings && !fromCheckpoint) logStartOver(outDir);
        const embedding = { token: opts.token, length: opts.length, batch: opts.batch };
        let trainData: EmbeddedPairs;
        let evalData: EmbeddedPairs;
        try {
          log(`[embed] ${train.length} training and ${evalPairs.length} held-out ${name} pairs with ${runDir} (frozen)`);
          trainData = await embedPairs(run.model, run.tokenizer, train, 'training', embedding);
          evalData = await embedPairs(run.model, run.tokenizer, evalPairs, 'held-out', embedding);
        } finally {
          run.model.dispose();
        }
        const model = await RetrievalMixer.create({ dModel: trainData.queries.dim, nLayers: opts.layers, context: opts.context, seed: opts.seed, device: opts.device });
        try {
          const evaluate = () => evaluateIndirectRetrieval(model, evalData, { seed: opts.seed, rounds: opts.rounds });
          // A resumed run's untrained evaluation and history come back from its checkpoint.
          let before = fromCheckpoint ? undefined : await evaluate();
          if (before) log(`[eval] before: CE ${before.loss.toFixed(3)} (chance ln(${opts.context - 1}) = ${before.chanceLoss.toFixed(3)}), top-1 ${(100 * before.top1).toFixed(1)}%`);
          let history: Array<{ step: number; loss: number; top1: number }> = [];
          const stop = stopOnCtrlC(' and saving a checkpoint');
          log(`[train] ${model.numParameters} parameters; ${opts.steps} steps × ${opts.samples} samples of c = ${opts.context} on ${train.length} pairs`);
          const every = Math.max(1, Math.round(opts.steps / 20));
          const clock = trainingClock(outDir);
          const losses = await trainIndirectRetrieval(model, trainData, {
            steps: opts.steps,
            samples: opts.samples,
            learningRate: opts.lr,
            seed: opts.seed,
            checkpoint: {
              dir: outDir,
              every: opts.checkpointEvery,
              resume: fromCheckpoint,
              notes: () => ({ before, history }),
              onResume: (step, notes, time) => {
                ({ before, history } = notes as { before: IndirectEvalResult; history: typeof history });
                clock.resumed(step, time);
              },
            },
            signal: stop.signal,
            onStep: async (step, loss) => {
              let line = `[train] step ${step}/${opts.steps}  CE ${loss.toFixed(4)}`;
              if (opts.evalEvery > 0 && step % opts.evalEvery === 0 && step !== opts.steps) {
                const r = await evaluate();
                history.push({ step, loss: r.loss, top1: r.top1 });
                line += `  held-out CE ${r.loss.toFixed(4)}, top-1 ${(100 * r.top1).toFixed(1)}%`;
              } else if (step !== 1 && step % every !== 0 && step !== opts.steps) return;
              log(line);
            },
          }).finally(() => stop.release());
          if (losses.length < opts.steps) {
            log(`checkpoint saved at step ${losses.length}; continue with: maskmix retrieval indirect-train --resume ${outDir}`);
            process.exitCode = 130;
            return;
          }
          if (!before) throw new MaskmixError('CHECKPOINT_INVALID', `${outDir}'s checkpoint holds no evaluation of the untrained model`);
          const { trainSeconds, trainSessions } = clock.total(losses.length);
          const after = await evaluate();
          history.push({ step: opts.steps, loss: after.loss, top1: after.top1 });
          const cosine = cosineTopOne(evalData, opts.context);
          await model.save(outDir);
          await saveEvalEmbeddings(outDir, evalData);
          const summary = {
            dir: outDir,
            from: runDir,
            data: name,
            embedding: { token: opts.token, length: opts.length ?? null, dim: trainData.queries.dim },
            model: { ...model.config, parameters: model.numParameters },
            trainPairs: train.length,
            evalPairs: evalPairs.length,
            steps: opts.steps,
            samples: opts.samples,
            learningRate: opts.lr,
            seed: opts.seed,
            device: opts.device,
            trainSeconds,
            trainSessions,
            firstLoss: losses[0],
            lastLoss: losses[losses.length - 1],
            chance: { loss: after.chanceLoss, top1: after.chanceTop1 },
            before: evalSummary(before),
            after: evalSummary(after),
            cosineTop1: cosine,
            history,
          };
          await writeJsonAtomic(join(outDir, INDIRECT_RESULTS_FILE), summary);
          if (opts.json) printJson(summary);
          else
            process.stdout.write(
              `${formatResults(
                [
                  ['chance', { loss: after.chanceLoss, top1: after.chanceTop1 }],
                  ['cosine similarity', { loss: Number.NaN, top1: cosine }],
                  ['retrieval model, untrained', before],
                  ['retrieval model, trained', after],
                ],
                opts.context,
              )}\n(${after.samples} held-out ${name} samples; training CE ${losses[0].toFixed(3)} → ${losses[losses.length - 1].toFixed(3)} in ${totalTrainTimeText(trainSeconds, trainSessions)})\nretrieval model: ${outDir}\n`,
            );
        } finally {
          model.dispose();
        }
      },
    );

  addPairFlags(
    retrieval
      .command('indirect-eval')
      .description('Evaluate an indirect retrieval model (from indirect-train): cross-entropy and top-1 among c − 1 candidates.')
      .argument('<retrieval-dir>', 'the output directory of maskmix retrieval indirect-train')
      .option('--run <run-dir>', 'the embedding model, for new pairs (default: the run the model was trained on)'),
  )
    .addHelpText(
      'after',
      `${EXPLAIN}\n\nWithout --pairs/--data/--brown it evaluates on the held-out embeddings saved by indirect-train. With them,\nthe pairs are embedded again by the run the model was trained on (or --run; it must embed the same way): all\npairs of a --data file, or Brown's held-out split.\n\nExamples:\n  maskmix retrieval indirect-eval runs/quickstart-indirect --rounds 4\n  maskmix retrieval indirect-eval runs/mine-indirect --pairs other.jsonl --json`,
    )
    .action(async (dir: string, opts: IndirectOpts & { rounds: number; run?: string }) => {
      resolvePairsFlag(opts);
      requireDirectory(dir);
      const resultsPath = join(dir, INDIRECT_RESULTS_FILE);
      if (!existsSync(resultsPath)) throw new MaskmixError('NOT_FOUND', `${dir} has no ${INDIRECT_RESULTS_FILE}: not an indirect-train output directory`);
      const trained = await readTrainedSummary(resultsPath);
      const model = await RetrievalMixer.load(dir, { device: opts.device });
      try {
        const context = model.config.context;
        let data: EmbeddedPairs;
        let name = 'saved held-out';
        if (opts.data !== undefined || opts.brown) {
          const { eval: pairs, name: source } = await loadPairs(opts, 'eval');
          name = source;
          requirePairs(pairs.length, context, 'evaluation', 'give more pairs');
          const run = await openRun(opts.run ?? trained.from, { device: opts.device });
          try {
            data = await embedPairs(run.model, run.tokenizer, pairs, 'evaluation', { token: trained.embedding.token, length: trained.embedding.length ?? undefined, batch: opts.batch });
          } finally {
            run.model.dispose();
          }
        } else {
          data = await readEvalEmbeddings(dir);
        }
        const result = await evaluateIndirectRetrieval(model, data, { seed: opts.seed, rounds: opts.rounds });
        const cosine = cosineTopOne(data, context);
        const out = { dir, data: name, pairs: data.queries.count, context, ...evalSummary(result), chance: { loss: result.chanceLoss, top1: result.chanceTop1 }, cosineTop1: cosine };
        if (opts.json) printJson(out);
        else
          process.stdout.write(
            `${formatResults(
              [
                ['chance', { loss: result.chanceLoss, top1: result.chanceTop1 }],
                ['cosine similarity', { loss: Number.NaN, top1: cosine }],
                ['retrieval model', result],
              ],
              context,
            )}\n(${result.samples} samples of ${data.queries.count} ${name} pairs)\n`,
          );
      } finally {
        model.dispose();
      }
    });
}
