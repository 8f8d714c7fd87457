import type { Command } from 'commander';

import { launch } from '../../dist/launch.js';
import { MaskmixError } from '../../errors.js';
import { usableGpus } from '../../native.js';
import { readExperimentConfig } from '../../experiment/experiment-config.js';
import { runExperiment } from '../../experiment/run-experiment.js';
import { TRAIN_DEFAULTS, trainBrown } from '../../train-brown.js';
import { addBrownRunFlags, brownRunOptions } from '../brown-run-flags.js';
import { log, parseNumber, printJson } from '../output.js';
import { trainingProgress } from '../progress.js';
import { stopOnCtrlC } from '../stop-on-ctrl-c.js';

/** The options of a `train` command line, written back as arguments (for the ranks `--gpus` starts). */
function asArguments(opts: Record<string, unknown>): string[] {
  const args = ['--steps', opts.steps, '--width', opts.width, '--depth', opts.depth, '--context', opts.context, '--batch', opts.batch,
    '--vocab', opts.vocab, '--lr', opts.lr, '--seed', opts.seed, '--eval-every', opts.evalEvery].map(String);
  if (opts.documents !== undefined) args.push('--documents', String(opts.documents));
  if (opts.gradAccum !== undefined) args.push('--grad-accum', String(opts.gradAccum));
  if (opts.out !== undefined) args.push('--out', String(opts.out));
  if (opts.json) args.push('--json');
  if (!opts.progress) args.push('--no-progress');
  return args;
}

export function registerTrain(program: Command): void {
  const d = TRAIN_DEFAULTS;
  const command = program
    .command('train')
    .summary('train a masked mixer (or another model) and write a run directory; --gpus N for data-parallel')
    .description(
      'Train a masked mixer on the embedded Brown corpus and write a run directory. Runs as one process, or ' +
        'data-parallel under `maskmix launch` (or with --gpus N); --batch is per process.',
    );
  addBrownRunFlags(command, {
    context: 'tokens per sequence',
    batch: 'sequences per step and process (global batch: b × processes)',
    seed: 'seed of the split, data order and weights',
  })
    .option('--eval-every <n>', 'validation loss every n steps (and at the end)', parseNumber('--eval-every', { integer: true, min: 1 }), d.evalEvery)
    .option('--grad-accum <k>', 'gradient accumulation: k micro-batches of --batch per optimizer step (one all-reduce per step)', parseNumber('--grad-accum', { integer: true, min: 1 }))
    .option('--cuda-graph', 'capture each training step as one CUDA graph and replay it (one GPU, no --grad-accum)')
    .option('--device <device>', "'auto' (a GPU per process if any), 'cpu', 'cuda' or 'cuda:N'", d.device)
    .option('--gpus <n>', 'train on n GPUs of this machine (starts n processes through maskmix launch)', parseNumber('--gpus', { integer: true, min: 1 }))
    .option('--config <file>', 'train the experiment a JSON config describes (model, training, data, tokenizer, budget)')
    .option('--resume <run-dir>', 'continue a run made with --config from its last checkpoint (bit-exact on the CPU)')
    .option('--out <dir>', `run directory (default ${d.outDir}, or ${d.outDir}-N if taken)`)
    .option('--json', 'print a summary object on stdout (rank 0)')
    .option('--no-progress', 'no progress output')
    .addHelpText(
      'after',
      '\nExamples:\n  maskmix train --steps 200 --width 128 --device cpu\n  maskmix train --gpus 8 --width 1024 --depth 8 --batch 32\n' +
        '  maskmix launch --nproc-per-node 2 -- maskmix train --steps 100 --device cpu\n' +
        '  maskmix train --config examples/mixer-brown.json --out runs/mixer\n  maskmix train --resume runs/mixer\n' +
        '\nAn experiment config (JSON; every field but model.context, training.steps and training.batchSize has a default):\n' +
        '  { "model": { "kind": "mixer", "dModel": 256, "nLayers": 4, "context": 128 },\n' +
        '    "training": { "steps": 400, "batchSize": 16, "learningRate": 0.002, "warmupSteps": 40, "checkpointEvery": 100 },\n' +
        '    "data": { "source": "brown" } | { "source": "files", "paths": ["corpus/"], "field": "text" },\n' +
        '    "tokenizer": { "vocabSize": 4096 } | { "path": "tokenizer.json" }, "seed": 0, "device": "cpu",\n' +
        '    "budget": { "minutes": 5 } }\n' +
        'Ctrl-C stops after the current step and exits with status 130. With --config it saves a checkpoint that\n' +
        '--resume continues from; without, it saves the model trained so far (config.json, model.safetensors), or\n' +
        'nothing at all when stopped before the first step (the run folder is removed if it made it).\n' +
        'With --config or --resume every setting comes from the config (or the run): only --out (with --config), --json\n' +
        'and --no-progress may be given beside them.',
    )
    .action(async (opts, cmd: Command) => {
      if (opts.config !== undefined || opts.resume !== undefined) {
        rejectFlagsBesideExperiment(cmd, opts.config !== undefined ? '--config' : '--resume');
        await trainExperiment(opts);
        return;
      }
      // Checked before trainBrown makes the run folder and trains the tokenizer (the flag itself accepts 0).
      if (!(opts.lr > 0)) throw new MaskmixError('INVALID_ARGUMENT', `--lr must be positive, got ${opts.lr}`);
      if (opts.cudaGraph && (opts.device === 'cpu' || (opts.gpus ?? 1) > 1 || (opts.gradAccum ?? 1) > 1)) {
        throw new MaskmixError('INVALID_ARGUMENT', '--cuda-graph captures single-GPU steps: use it without --device cpu, --gpus above 1 or --grad-accum above 1');
      }
      const gpusForGraph = opts.cudaGraph && opts.device === 'auto' ? usableGpus() : undefined;
      if (gpusForGraph && gpusForGraph.count === 0) {
        throw new MaskmixError('CUDA_UNAVAILABLE', `--cuda-graph needs a GPU; this machine has none${gpusForGraph.note}`);
      }
      if (opts.gpus !== undefined && !process.env.WORLD_SIZE) {
        const gpus = usableGpus();
        if (gpus.count < opts.gpus) {
          throw new MaskmixError('CUDA_UNAVAILABLE', `--gpus ${opts.gpus} needs ${opts.gpus} GPUs; this machine has ${gpus.count}${gpus.note}`);
        }
        if (opts.gpus > 1) {
          const controller = new AbortController();
          process.once('SIGINT', () => controller.abort());
          const result = await launch({ nprocPerNode: opts.gpus, command: ['maskmix', 'train', ...asArguments(opts), '--device', 'cuda'], signal: controller.signal });
          process.exit(result.exitCode);
        }
        opts.device = 'cuda';
      }
      const launched = !!process.env.WORLD_SIZE;
      const isRankZero = (process.env.RANK ?? '0') === '0';
      const progress = trainingProgress({ enabled: opts.progress && isRankZero });
      // Alone, Ctrl-C stops after the current step and keeps what was learned; under launch the launcher stops us.
      const stop = stopOnCtrlC('', { listen: !launched });
      const summary = await trainBrown(
        { ...brownRunOptions(opts, stop.signal), device: opts.device, gradientAccumulation: opts.gradAccum, cudaGraph: opts.cudaGraph === true },
        {
          onPhase: (phase, detail) => {
            if (phase === 'save') progress.stop();
            log(`[${phase}] ${detail}`);
          },
          onStep: (p) => progress.update(p),
        },
      );
      stop.release();
      progress.stop();
      if (summary.rank !== 0) return;
      // Interrupted: what was done is kept (and reported below), but the exit status says it did not finish.
      if (stop.signal.aborted) process.exitCode = 130;
      if (opts.json) {
        printJson(summary);
        return;
      }
      const lines = [
        '',
        `run directory   ${summary.runDir}`,
        `processes       ${summary.worldSize} × ${summary.device}`,
        `parameters      ${(summary.parameters / 1e6).toFixed(2)}M`,
        `steps           ${summary.steps} (${summary.tokensSeen.toLocaleString('en-US')} tokens)`,
        `train loss      ${summary.trainLoss.toFixed(3)} nats/token`,
        `val loss        ${summary.valLoss.toFixed(3)} nats/token`,
        `throughput      ${Math.round(summary.tokensPerSecond).toLocaleString('en-US')} tokens/s`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}

/** The flags a `train --config` / `--resume` line may have; the config (or the run's run.json) decides the rest. */
const EXPERIMENT_FLAGS = new Set(['config', 'resume', 'out', 'json', 'progress']);

/** A usage error naming the flags given on the command line that --config / --resume would otherwise ignore. */
function rejectFlagsBesideExperiment(cmd: Command, mode: '--config' | '--resume'): void {
  const allowed = mode === '--resume' ? new Set([...EXPERIMENT_FLAGS].filter((k) => k !== 'out')) : EXPERIMENT_FLAGS;
  const given = cmd.options
    .filter((o) => !allowed.has(o.attributeName()) && ['cli', 'env'].includes(cmd.getOptionValueSource(o.attributeName()) ?? ''))
    .map((o) => o.long ?? o.flags);
  if (given.length === 0) return;
  const what = mode === '--config' ? 'the config file' : 'the run being resumed';
  throw new MaskmixError('INVALID_ARGUMENT', `${given.join(', ')} cannot be combined with ${mode}: its settings come from ${what}`);
}

/** A loss with 4 decimals; a summary read back from JSON holds null where the loss was NaN. */
const fixed = (loss: number | null) => (loss ?? Number.NaN).toFixed(4);

/** `train --config` / `train --resume`: one process, a resumable run directory. */
async function trainExperiment(opts: { config?: string; resume?: string; out?: string; json?: boolean; progress: boolean }): Promise<void> {
  if (opts.config !== undefined && opts.resume !== undefined) throw new MaskmixError('INVALID_ARGUMENT', 'give --config (a new run) or --resume (an existing one), not both');
  const progress = trainingProgress({ enabled: opts.progress });
  const stop = stopOnCtrlC(' and saving a checkpoint');
  const summary = await runExperiment(opts.config !== undefined ? readExperimentConfig(opts.config) : undefined, {
    runDir: opts.resume ?? opts.out ?? TRAIN_DEFAULTS.outDir,
    resume: opts.resume !== undefined,
    unique: opts.out === undefined,
    signal: stop.signal,
    onPhase: (phase, detail) => {
      if (phase === 'save') progress.stop();
      if (phase !== 'checkpoint') log(`[${phase}] ${detail}`);
    },
    onStep: (p) => progress.update(p),
  });
  stop.release();
  progress.stop();
  if (opts.json) printJson(summary);
  else {
    process.stdout.write(
      `\nrun directory   ${summary.runDir}\nsteps           ${summary.steps} (${summary.tokensSeen.toLocaleString('en-US')} tokens, ${(summary.flops / 1e12).toFixed(3)} TFLOPs)\n` +
        `train loss      ${fixed(summary.trainLoss)}\nval loss        ${fixed(summary.valLoss)}\nstopped by      ${summary.stoppedBy}\n`,
    );
  }
  if (summary.stoppedBy === 'signal') {
    log(`checkpoint saved at step ${summary.steps}; continue with: maskmix train --resume ${summary.runDir}`);
    process.exitCode = 130;
  }
}
