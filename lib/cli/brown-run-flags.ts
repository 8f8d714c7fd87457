/** The model-size and training flags `maskmix quickstart` and `maskmix train` share (lib/brown-run-options.ts). */
import type { Command } from 'commander';

import { BROWN_RUN_DEFAULTS, type BrownRunOptions } from '../brown-run-options.js';
import { parseNumber } from './output.js';

/** Adds --steps, --width, --depth, --context, --batch, --vocab, --lr, --seed and --documents. */
export function addBrownRunFlags(command: Command, help: { context: string; batch: string; seed: string }): Command {
  const d = BROWN_RUN_DEFAULTS;
  return command
    .option('--steps <n>', 'training steps', parseNumber('--steps', { integer: true, min: 1 }), d.steps)
    .option('--width <d>', 'model width d', parseNumber('--width', { integer: true, min: 1 }), d.dModel)
    .option('--depth <L>', 'number of mixer blocks', parseNumber('--depth', { integer: true, min: 1 }), d.nLayers)
    .option('--context <n>', help.context, parseNumber('--context', { integer: true, min: 2 }), d.context)
    .option('--batch <b>', help.batch, parseNumber('--batch', { integer: true, min: 1 }), d.batchSize)
    .option('--vocab <V>', 'tokenizer vocabulary size', parseNumber('--vocab', { integer: true, min: 258 }), d.vocabSize)
    .option('--lr <rate>', 'peak learning rate (linear warm-up, then linear decay)', parseNumber('--lr', { min: 0 }), d.learningRate)
    .option('--seed <s>', help.seed, parseNumber('--seed', { integer: true, min: 0 }), d.seed)
    .option('--documents <k>', 'use only the first k of the 500 Brown documents', parseNumber('--documents', { integer: true, min: 2, max: 500 }));
}

/** The parsed flags of {@link addBrownRunFlags} (and --out) as options. */
export function brownRunOptions(opts: Record<string, unknown>, signal: AbortSignal): BrownRunOptions {
  return {
    outDir: opts.out as string | undefined,
    steps: opts.steps as number,
    dModel: opts.width as number,
    nLayers: opts.depth as number,
    context: opts.context as number,
    batchSize: opts.batch as number,
    vocabSize: opts.vocab as number,
    learningRate: opts.lr as number,
    seed: opts.seed as number,
    documents: opts.documents as number | undefined,
    evalEvery: opts.evalEvery as number | undefined,
    signal,
  };
}
