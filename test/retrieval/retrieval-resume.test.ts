// Checkpoint and resume of both retrieval trainers: a run stopped after k steps and resumed ends with the weights
// of an uninterrupted run (fp64, CPU), and a damaged or foreign checkpoint is refused with its code, untouched.
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { mulberry32 } from '../../lib/data/random.js';
import { LanguageModel } from '../../lib/model.js';
import { shuffledIndirectSamples, trainIndirectRetrieval, type EmbeddedPairs } from '../../lib/retrieval/indirect-run.js';
import { stackIndirectSamples, type IndirectSample } from '../../lib/retrieval/indirect-samples.js';
import type { RetrievalPair } from '../../lib/retrieval/pairs.js';
import { RetrievalMixer, RetrievalTrainer } from '../../lib/retrieval/retrieval-mixer.js';
import type { TrainingTime } from '../../lib/retrieval/resumable-steps.js';
import { fineTuneRetrieval } from '../../lib/retrieval/retrieval-run.js';
import { Tensor } from '../../lib/tensor.js';
import type { Tokenizer } from '../../lib/tokenizer/tokenizer.js';
import { expectCodeAsync } from '../expect-code.js';

const STEPS = 7;
const STOP_AT = 3;

function randomPairs(count: number, dim: number, seed: number): EmbeddedPairs {
  const rng = mulberry32(seed);
  const queries = Float32Array.from({ length: count * dim }, () => rng() - 0.5);
  const targets = queries.map((q) => q + 0.2 * (rng() - 0.5));
  return { queries: { vectors: queries, count, dim }, targets: { vectors: targets, count, dim } };
}

/** Largest absolute difference between two models' parameters (same names required). */
function maxDifference(a: Record<string, Tensor>, b: Record<string, Tensor>): number {
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  let max = 0;
  for (const [name, t] of Object.entries(a)) {
    const x = t.toTypedArray() as Float64Array;
    const y = b[name].toTypedArray() as Float64Array;
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
  }
  return max;
}

/** Every file under `dir` with its bytes, to show that a refused resume wrote nothing. */
function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.set(join(entry.parentPath, entry.name), readFileSync(join(entry.parentPath, entry.name)));
  }
  return out;
}

const MIXER = { dModel: 8, nLayers: 2, context: 6, ffMultiplier: 2, dtype: 'float64' as const, seed: 5 };
const INDIRECT = { steps: STEPS, samples: 4, learningRate: 3e-3, warmupSteps: 2, seed: 2 };

describe('indirect retrieval trainer: checkpoint and resume', () => {
  const pairs = randomPairs(10, MIXER.dModel, 1); // 10 pairs of 4 samples a step: the resume lands mid-epoch

  it('stopped after k steps and resumed, it ends where an uninterrupted run does', async () => {
    const root = mkdtempSync(join(tmpdir(), 'maskmix-retrieval-resume-'));
    const full = await RetrievalMixer.create(MIXER);
    const fullLosses = await trainIndirectRetrieval(full, pairs, { ...INDIRECT, checkpoint: { dir: join(root, 'full'), every: 2 } });

    const stopped = await RetrievalMixer.create(MIXER);
    const controller = new AbortController();
    const dir = join(root, 'stopped');
    const first = await trainIndirectRetrieval(stopped, pairs, { ...INDIRECT, checkpoint: { dir }, signal: controller.signal, onStep: (s) => void (s === STOP_AT && controller.abort()) });
    expect(first).toHaveLength(STOP_AT);
    stopped.dispose();

    // A fresh process would start from the config's weights; the checkpoint replaces them.
    const resumed = await RetrievalMixer.create(MIXER);
    let resumedAt = -1;
    let time: TrainingTime | undefined;
    const stoppedState = JSON.parse(readFileSync(join(dir, 'checkpoint', 'state.json'), 'utf8'));
    const losses = await trainIndirectRetrieval(resumed, pairs, { ...INDIRECT, checkpoint: { dir, resume: true, onResume: (step, _, t) => ((resumedAt = step), (time = t)) } });
    expect(resumedAt).toBe(STOP_AT);
    // The training time so far comes back with the resume, and the next checkpoint counts on from it.
    expect(time).toEqual({ elapsedSeconds: stoppedState.elapsedSeconds, sessions: 1 });
    const endState = JSON.parse(readFileSync(join(dir, 'checkpoint', 'state.json'), 'utf8'));
    expect(endState.elapsedSeconds).toBeGreaterThanOrEqual(stoppedState.elapsedSeconds);
    expect(endState.notes.sessions).toBe(2);
    expect(losses).toHaveLength(STEPS);
    for (let i = 0; i < STEPS; i++) expect(Math.abs(losses[i] - fullLosses[i]), `step ${i + 1}`).toBeLessThan(1e-12);
    expect(maxDifference(full.stateDict(), resumed.stateDict())).toBeLessThan(1e-12);
    full.dispose();
    resumed.dispose();
  }, 60_000);

  it('saves and restores its optimizer state through the typed API, and refuses a foreign state unchanged', async () => {
    const model = await RetrievalMixer.create(MIXER);
    const trainer = new RetrievalTrainer(model, { learningRate: 1e-2, warmupSteps: 4, totalSteps: 10 });
    const samples = shuffledIndirectSamples(pairs, MIXER.context, 0);
    const batch = () => stackIndirectSamples(Array.from({ length: 4 }, () => samples.next().value as IndirectSample), MIXER.dModel);
    for (let i = 0; i < 2; i++) await trainer.step(batch());
    const state = trainer.stateDict();
    expect(state.step).toBe(2);
    expect(Object.keys(state.tensors).sort()).toEqual(Object.keys(model.stateDict()).flatMap((n) => [`exp_avg.${n}`, `exp_avg_sq.${n}`, `step.${n}`]).sort());
    expect(Object.entries(state.tensors).every(([k, t]) => t.dtype === (k.startsWith('step.') ? 'float32' : 'float64'))).toBe(true);
    const values = () => Object.fromEntries(Object.entries(trainer.stateDict().tensors).map(([k, t]) => [k, Array.from(t.toTypedArray() as Float64Array)]));
    const saved = values();
    expect(Object.values(saved).some((v) => v.some((x) => x !== 0))).toBe(true);

    // Into a fresh trainer: the same moments and the same position in the schedule.
    const copy = new RetrievalTrainer(model, { learningRate: 1e-2, warmupSteps: 4, totalSteps: 10 });
    copy.loadStateDict(state);
    expect(copy.stepsTaken).toBe(2);
    expect(Object.fromEntries(Object.entries(copy.stateDict().tensors).map(([k, t]) => [k, Array.from(t.toTypedArray() as Float64Array)]))).toEqual(saved);
    expect((await copy.step(batch())).learningRate).toBeCloseTo(3 * 1e-2 / 4, 12);

    // Refused states change nothing.
    const other = await RetrievalMixer.create({ ...MIXER, nLayers: 1 });
    const otherTrainer = new RetrievalTrainer(other, {});
    const { [Object.keys(state.tensors)[0]]: _dropped, ...missing } = state.tensors;
    const shapes = Object.fromEntries(Object.entries(state.tensors).map(([k, t]) => [k, k.startsWith('exp_avg.retrieval_head.weight') ? Tensor.from(new Float64Array(3), [3]) : t]));
    for (const bad of [otherTrainer.stateDict(), { step: 3, tensors: missing }, { step: 3, tensors: shapes }, { step: -1, tensors: state.tensors }, { step: 1.5, tensors: state.tensors }]) {
      await expectCodeAsync(() => trainer.loadStateDict(bad), 'CHECKPOINT_INVALID');
    }
    expect(trainer.stepsTaken).toBe(2);
    expect(values()).toEqual(saved);
    for (const t of [trainer, copy, otherTrainer, model, other]) t.dispose();
  });

  it("keeps every parameter's own AdamW step count, so a resume after a skipped non-finite step is exact", async () => {
    const model = await RetrievalMixer.create(MIXER);
    const config = { learningRate: 1e-2, warmupSteps: 0, totalSteps: 10 };
    const trainer = new RetrievalTrainer(model, config);
    const samples = shuffledIndirectSamples(pairs, MIXER.context, 0);
    const batch = () => stackIndirectSamples(Array.from({ length: 4 }, () => samples.next().value as IndirectSample), MIXER.dModel);
    await trainer.step(batch());
    // A NaN weight makes the next step's loss NaN; the update is skipped and the weights put back.
    const weights = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, { data: Float64Array.from(t.toTypedArray() as Float64Array), shape: t.shape }]));
    const load = (poison: boolean) =>
      model.loadStateDict(Object.fromEntries(Object.entries(weights).map(([k, w], i) => [k, Tensor.from(poison && i === 0 ? w.data.map(() => Number.NaN) : w.data, w.shape)])));
    load(true);
    await expectCodeAsync(trainer.step(batch()), 'NON_FINITE'); // skipped: 2 steps taken, 1 update made
    load(false);
    const state = trainer.stateDict();
    expect(state.step).toBe(2);
    expect(Object.entries(state.tensors).filter(([k]) => k.startsWith('step.')).map(([, t]) => Array.from(t.toTypedArray() as Float32Array))).toEqual(Object.keys(model.stateDict()).map(() => [1]));

    // Into a fresh model and trainer: the next update is the one the original makes, to the last bit.
    const copyModel = await RetrievalMixer.create(MIXER);
    copyModel.loadStateDict(model.stateDict());
    const copy = new RetrievalTrainer(copyModel, config);
    copy.loadStateDict(state);
    const next = batch();
    await trainer.step(next);
    await copy.step(next);
    expect(maxDifference(model.stateDict(), copyModel.stateDict())).toBe(0);

    // A state without step counts (a checkpoint written before they were kept) still loads: every count is the step.
    const moments = Object.fromEntries(Object.entries(state.tensors).filter(([k]) => !k.startsWith('step.')));
    const old = new RetrievalTrainer(copyModel, config);
    old.loadStateDict({ step: 2, tensors: moments });
    expect(Object.entries(old.stateDict().tensors).filter(([k]) => k.startsWith('step.')).every(([, t]) => t.toTypedArray()[0] === 2)).toBe(true);
    // Some counts but not all, or a count past the step, are refused.
    const [firstCount] = Object.keys(state.tensors).filter((k) => k.startsWith('step.'));
    const { [firstCount]: _dropped, ...partial } = state.tensors;
    await expectCodeAsync(() => old.loadStateDict({ step: 2, tensors: partial }), 'CHECKPOINT_INVALID');
    await expectCodeAsync(() => old.loadStateDict({ step: 0, tensors: state.tensors }), 'CHECKPOINT_INVALID');
    for (const t of [trainer, copy, old, model, copyModel]) t.dispose();
  });

  it('refuses a damaged, foreign or missing checkpoint with its code and leaves the files as they were', async () => {
    const root = mkdtempSync(join(tmpdir(), 'maskmix-retrieval-refuse-'));
    const good = join(root, 'good');
    const model = await RetrievalMixer.create(MIXER);
    await trainIndirectRetrieval(model, pairs, { ...INDIRECT, steps: 2, checkpoint: { dir: good } });
    model.dispose();
    const damaged = (name: string, file: string, bytes: string | ((old: Buffer) => Buffer)) => {
      const dir = join(root, name);
      cpSync(good, dir, { recursive: true });
      const path = join(dir, 'checkpoint', file);
      writeFileSync(path, typeof bytes === 'string' ? bytes : bytes(readFileSync(path)));
      return dir;
    };
    const cases: Array<[string, string, string, { nLayers?: number; steps?: number }?]> = [
      ['state.json cut short', 'CHECKPOINT_INVALID', damaged('state', 'state.json', '{"step": 2, "optim')],
      ['state.json of another loop', 'CHECKPOINT_INVALID', damaged('counters', 'state.json', '{"step": 2, "optimizerStep": 2, "tokensSeen": 0, "elapsedSeconds": 1, "dataPosition": 7}')],
      ['optimizer file truncated', 'CHECKPOINT_INVALID', damaged('optimizer', 'optimizer.safetensors', (b) => b.subarray(0, b.length - 16))],
      ['weights file garbage', 'CHECKPOINT_INVALID', damaged('weights', 'model.safetensors', 'not a safetensors file at all')],
      ['another model shape', 'CHECKPOINT_INVALID', good, { nLayers: 1 }],
      ['past the last step', 'CHECKPOINT_INVALID', good, { steps: 1 }],
      ['no checkpoint', 'NOT_FOUND', join(root, 'none')],
    ];
    for (const [what, code, dir, change] of cases) {
      const before = snapshot(root);
      const m = await RetrievalMixer.create({ ...MIXER, nLayers: change?.nLayers ?? MIXER.nLayers });
      const run = trainIndirectRetrieval(m, pairs, { ...INDIRECT, steps: change?.steps ?? INDIRECT.steps, checkpoint: { dir, resume: true } });
      await expectCodeAsync(run, code).catch((error) => {
        throw new Error(`${what}: ${(error as Error).message}`);
      });
      m.dispose();
      const after = snapshot(root);
      expect([...after.keys()].sort(), what).toEqual([...before.keys()].sort());
      for (const [path, bytes] of before) expect(after.get(path)!.equals(bytes), `${what}: ${path}`).toBe(true);
    }
  }, 60_000);
});

/** A character tokenizer: enough for fineTuneRetrieval, which only encodes. */
const charTokenizer = {
  encodeBatch: async (texts: readonly string[]) => texts.map((t) => Array.from(t, (ch) => 1 + (ch.charCodeAt(0) % 60))),
} as unknown as Tokenizer;

describe('InfoNCE retrieval fine-tuning: checkpoint and resume', () => {
  const pairs: RetrievalPair[] = Array.from({ length: 12 }, (_, i) => ({ query: `q${i} about ${i * 7}`, passage: `passage ${i}: topic ${i * 7} and more` }));
  const LM = { kind: 'mixer' as const, vocabSize: 64, dModel: 16, nLayers: 1, context: 16, padId: 0, dtype: 'float64' as const, seed: 4 };
  const TRAIN = { steps: 5, samples: 2, group: 4, learningRate: 1e-3, seed: 3 };

  it('stopped after k steps and resumed, it ends where an uninterrupted run does', async () => {
    const root = mkdtempSync(join(tmpdir(), 'maskmix-infonce-resume-'));
    const full = await LanguageModel.create(LM);
    const fullLosses = await fineTuneRetrieval(full, charTokenizer, pairs, { ...TRAIN, checkpoint: { dir: join(root, 'full') } });

    const dir = join(root, 'stopped');
    const stopped = await LanguageModel.create(LM);
    const controller = new AbortController();
    const first = await fineTuneRetrieval(stopped, charTokenizer, pairs, { ...TRAIN, checkpoint: { dir, notes: () => ({ mine: 1 }) }, signal: controller.signal, onStep: (s) => void (s === 2 && controller.abort()) });
    expect(first).toHaveLength(2);
    stopped.dispose();

    const resumed = await LanguageModel.create(LM);
    let notes: unknown;
    const losses = await fineTuneRetrieval(resumed, charTokenizer, pairs, { ...TRAIN, checkpoint: { dir, resume: true, onResume: (_, n) => (notes = n) } });
    expect(notes).toEqual({ mine: 1 });
    expect(losses).toHaveLength(TRAIN.steps);
    for (let i = 0; i < TRAIN.steps; i++) expect(Math.abs(losses[i] - fullLosses[i]), `step ${i + 1}`).toBeLessThan(1e-12);
    expect(maxDifference(full.stateDict(), resumed.stateDict())).toBeLessThan(1e-12);
    // A run that keeps no checkpoint is the same run.
    const plain = await LanguageModel.create(LM);
    expect(await fineTuneRetrieval(plain, charTokenizer, pairs, TRAIN)).toEqual(fullLosses);
    for (const m of [full, resumed, plain]) m.dispose();
  }, 60_000);
});
