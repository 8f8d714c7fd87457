/**
 * The main job, end to end on the embedded Brown corpus: train a BPE tokenizer, pack the text, train a small
 * masked mixer, measure train and validation loss, generate a sample, and leave a complete run directory.
 * `maskmix quickstart` is a thin CLI over this function.
 */
import { join } from 'node:path';

import { BROWN_RUN_DEFAULTS, type BrownRunOptions } from './brown-run-options.js';
import { trainBrownPhase } from './brown-train-phase.js';
import { saveModel } from './checkpoint.js';
import { batches } from './data/batches.js';
import { prepareBrownDataset } from './data/brown-dataset.js';
import { unigramEntropy } from './data/corpus.js';
import { generate } from './generate.js';
import { writeJsonAtomic } from './io/atomic-file.js';
import { LanguageModel } from './model.js';
import { makeRunDir, RunStart, runEnvironment } from './run-dir.js';
import type { StepProgress } from './train-loop.js';
import { Trainer } from './trainer.js';

export interface QuickstartOptions extends BrownRunOptions {
  /** Prompt of the sample printed at the end. */
  prompt?: string;
  sampleTokens?: number;
}

export interface QuickstartEvents {
  /** A phase began; `detail` says what it is doing. */
  onPhase?: (phase: 'corpus' | 'tokenizer' | 'model' | 'train' | 'sample' | 'save', detail: string) => void;
  onStep?: (progress: StepProgress) => void;
}

export interface QuickstartSummary {
  runDir: string;
  parameters: number;
  steps: number;
  tokensSeen: number;
  trainLoss: number;
  valLoss: number;
  /** Entropy (nats) of the validation tokens' unigram distribution: the loss of a model that ignores context. */
  valUnigramEntropy: number;
  tokensPerSecond: number;
  trainSeconds: number;
  wallSeconds: number;
  prompt: string;
  sample: string;
}

export const QUICKSTART_DEFAULTS = {
  ...BROWN_RUN_DEFAULTS,
  outDir: 'runs/quickstart',
  prompt: 'The jury said',
  sampleTokens: 40,
} as const;

/**
 * Runs the quickstart (see the file comment) and returns its figures.
 * @throws MaskmixError ABORTED when `signal` stops it before its first step (nothing is kept); the usual training errors.
 */
export async function quickstart(options: QuickstartOptions = {}, events: QuickstartEvents = {}): Promise<QuickstartSummary> {
  // Options left undefined keep their defaults (a plain spread would overwrite them with undefined).
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...QUICKSTART_DEFAULTS, ...given } as typeof QUICKSTART_DEFAULTS & QuickstartOptions;
  const wallStart = performance.now();
  const made = makeRunDir(o.outDir, { unique: options.outDir === undefined });
  const runDir = made.dir;
  const runStart = new RunStart(made, o.signal);
  const { data, model, trainer } = await runStart.setUp(
    async () => {
      const data = await prepareBrownDataset({
        documents: o.documents,
        vocabSize: o.vocabSize,
        context: o.context,
        seed: o.seed,
        onPhase: events.onPhase,
      });
      runStart.checkNotAborted();
      data.tokenizer.save(join(runDir, 'tokenizer.json'));
      const model = runStart.own(await LanguageModel.create({
        kind: 'mixer' as const,
        vocabSize: data.tokenizer.vocabSize,
        dModel: o.dModel,
        nLayers: o.nLayers,
        context: o.context,
        padId: data.eosId,
        seed: o.seed,
      }));
      events.onPhase?.(
        'model',
        `masked mixer d=${o.dModel} L=${o.nLayers} n=${o.context}: ${(model.numParameters / 1e6).toFixed(2)}M parameters; ` +
          `${data.trainData.numSequences} train / ${data.valData.numSequences} validation sequences`,
      );
      const trainConfig = {
        learningRate: o.learningRate,
        warmupSteps: Math.min(50, Math.floor(o.steps / 10)),
        totalSteps: o.steps,
        gradClip: 1,
      };
      const trainer = runStart.own(new Trainer(model, trainConfig));
      await writeJsonAtomic(join(runDir, 'run.json'), {
        command: 'quickstart',
        data: { corpus: 'brown', documents: data.documents, trainDocuments: data.trainDocuments, valDocuments: data.valDocuments },
        training: { ...trainConfig, batchSize: o.batchSize, steps: o.steps, seed: o.seed },
        environment: runEnvironment(),
      });
      return { data, model, trainer };
    },
  );
  const { tokenizer, eosId, trainData, valData } = data;

  events.onPhase?.('train', `${o.steps} steps of ${o.batchSize}×${o.context} tokens`);
  const result = await trainBrownPhase({
    runStart,
    trainer,
    batches: batches(trainData, o.batchSize, { seed: o.seed }),
    validation: valData,
    runDir,
    options: o,
    onStep: events.onStep,
  });

  events.onPhase?.('save', runDir);
  await saveModel(model, runDir);

  events.onPhase?.('sample', `${o.sampleTokens} tokens after "${o.prompt}"`);
  const promptIds = await tokenizer.encode(o.prompt);
  const sampleIds = await generate(model, promptIds, {
    maxNewTokens: o.sampleTokens,
    temperature: 0.8,
    topK: 40,
    seed: o.seed,
    stopToken: eosId,
  });
  const sample = await tokenizer.decode(sampleIds, { skipSpecialTokens: true });
  const summary: QuickstartSummary = {
    runDir,
    parameters: model.numParameters,
    steps: result.steps,
    tokensSeen: result.tokensSeen,
    trainLoss: result.finalTrainLoss,
    valLoss: result.finalValLoss ?? Number.NaN,
    valUnigramEntropy: unigramEntropy(valData.data.subarray(0, valData.realTokens), tokenizer.vocabSize),
    tokensPerSecond: result.tokensPerSecond,
    trainSeconds: result.elapsedSeconds,
    wallSeconds: (performance.now() - wallStart) / 1000,
    prompt: o.prompt,
    sample,
  };
  await writeJsonAtomic(join(runDir, 'summary.json'), summary);
  trainer.dispose();
  model.dispose();
  return summary;
}
