// The masked recurrent ("repeat") mixer, SPEC §5, for every structure: exact causality, parameter gradients
// against finite differences (fp64), learning, the decay kept inside its clip range, checkpoints, config errors.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadModel, saveModel } from '../../lib/checkpoint.js';
import { REPEAT_STRUCTURES, type RepeatStructure } from '../../lib/model-config.js';
import { LanguageModel } from '../../lib/model.js';
import { Trainer } from '../../lib/trainer.js';
import { expectExactlyCausal } from '../causality.js';
import { expectGradientsMatchFiniteDifferences } from '../finite-difference-gradients.js';
import { randomizeRepeatWeights, randomTokens } from '../helpers.js';

const V = 40;
const config = (structure: RepeatStructure, overrides: Record<string, unknown> = {}) =>
  ({ kind: 'repeat' as const, vocabSize: V, dModel: 16, nLayers: 2, nHeads: 4, context: 14, kernelSize: 3, seed: 6, structure, ...overrides });

async function repeatModel(structure: RepeatStructure, overrides: Record<string, unknown> = {}): Promise<LanguageModel> {
  const model = await LanguageModel.create(config(structure, overrides));
  randomizeRepeatWeights(model, 17);
  return model;
}

async function logits(model: LanguageModel, tokens: Int32Array, batch = 1): Promise<Float32Array | Float64Array> {
  return (await model.forward(tokens, batch)).toTypedArray() as Float32Array;
}

describe('repeat mixer', () => {
  for (const structure of REPEAT_STRUCTURES) {
    it(`${structure}: changing token j leaves every logit before j bit-identical`, async () => {
      // Context 14 runs the explicit parallel form; 160 (mixed, toeplitz, kernel) the chunked one.
      const contexts = ['mixed', 'toeplitz', 'kernel'].includes(structure) ? [14, 160] : [14];
      for (const n of contexts) {
        const model = await repeatModel(structure, { context: n });
        await expectExactlyCausal(model, randomTokens(n, V, 3), [0, 1, Math.floor(n / 2), n - 1], `n=${n}`);
        model.dispose();
      }
    });
  }

  for (const structure of REPEAT_STRUCTURES) {
    it(`${structure}: parameter gradients equal central finite differences of the loss (fp64)`, async () => {
      const model = await repeatModel(structure, { dtype: 'float64', nLayers: 1, context: 8, dModel: 8, nHeads: 2 });
      const batch = { tokens: randomTokens(2 * 8, V, 4), batch: 2 };
      await expectGradientsMatchFiniteDifferences(model, batch, (length) => new Set([0, Math.floor(length / 3), length - 1]));
      model.dispose();
    });
  }

  it('computes the same loss and gradients with the fused feed-forward as with the modules (fp64)', async () => {
    const fused = await repeatModel('mixed', { dtype: 'float64' });
    const plain = await repeatModel('mixed', { dtype: 'float64', fused: false });
    const batch = { tokens: randomTokens(2 * 14, V, 9), batch: 2 };
    const a = await fused.lossGradients(batch);
    const b = await plain.lossGradients(batch);
    expect(a.loss).toBeCloseTo(b.loss, 12);
    for (const [name, g] of Object.entries(a.gradients)) {
      const x = g.toTypedArray() as Float64Array;
      const y = b.gradients[name].toTypedArray() as Float64Array;
      for (let i = 0; i < x.length; i++) expect(Math.abs(x[i] - y[i]), `${name}[${i}]`).toBeLessThan(1e-10);
    }
    fused.dispose();
    plain.dispose();
  });

  it('trains: the loss on a repeated batch falls, for every structure', async () => {
    for (const structure of REPEAT_STRUCTURES) {
      const model = await LanguageModel.create(config(structure));
      const trainer = new Trainer(model, { learningRate: 3e-3 });
      const tokens = randomTokens(4 * 14, V, 5);
      const first = (await trainer.step({ tokens, batch: 4 })).loss!;
      let last = first;
      for (let i = 0; i < 30; i++) last = (await trainer.step({ tokens, batch: 4 })).loss!;
      expect(last, structure).toBeLessThan(first - 1);
      trainer.dispose();
      model.dispose();
    }
  });

  it('keeps every learned decay inside its clip range [0.9, 1] after training steps', async () => {
    const model = await repeatModel('mixed');
    const decays = () =>
      Object.entries(model.stateDict())
        .filter(([name]) => name.endsWith('mix.decay'))
        .flatMap(([, t]) => Array.from(t.toTypedArray() as Float32Array));
    const start = decays();
    // A large learning rate pushes δ hard; the update is projected back after every step.
    const trainer = new Trainer(model, { learningRate: 0.05 });
    for (let i = 0; i < 20; i++) await trainer.step({ tokens: randomTokens(4 * 14, V, 100 + i), batch: 4 });
    const end = decays();
    expect(end).toHaveLength(2 * 4);
    const low = Math.fround(0.9); // the bound as a float32 parameter holds it
    for (const d of end) {
      expect(d).toBeGreaterThanOrEqual(low);
      expect(d).toBeLessThanOrEqual(1);
    }
    expect(end.some((d, i) => d !== start[i])).toBe(true); // they are learned, not frozen
    expect(end.some((d) => d === low || d === 1)).toBe(true); // and some reached a bound and were held there
    model.dispose();
  });

  it('saves and reloads to bit-identical logits, with its own parameter names and config', async () => {
    for (const structure of ['mixed', 'combined', 'column-diagonal', 'toeplitz', 'kernel'] as const) {
      const model = await repeatModel(structure);
      const dir = mkdtempSync(join(tmpdir(), 'maskmix-repeat-'));
      await saveModel(model, dir);
      const saved = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      expect(saved).toMatchObject({ kind: 'repeat', structure, nHeads: 4, kernelSize: 3 });
      const loaded = await loadModel(dir);
      const tokens = randomTokens(14, V, 8);
      expect(Array.from(await logits(loaded, tokens))).toEqual(Array.from(await logits(model, tokens)));
      const names = Object.keys(model.stateDict());
      expect(names).toContain('mixerblocks.1.mix.in_proj.weight');
      expect(names).toContain('mixerblocks.0.mix.out_proj.bias');
      expect(names.includes('mixerblocks.0.mix.decay')).toBe(structure !== 'toeplitz');
      expect(names.includes('mixerblocks.0.mix.row_weight')).toBe(structure === 'combined');
      expect(names.includes('mixerblocks.0.mix.diagonal')).toBe(structure === 'column-diagonal');
      expect(model.stateDict()['mixerblocks.0.mix.weight'].shape).toEqual(structure === 'kernel' ? [4, 3, 14] : [4, 14]);
      model.dispose();
      loaded.dispose();
    }
  });

  it('rejects configs it cannot build, naming the field', async () => {
    await expect(LanguageModel.create({ ...config('mixed'), nHeads: 3 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/nHeads: nHeads must divide dModel/),
    });
    await expect(LanguageModel.create({ ...config('mixed'), structure: 'diagonal' as never })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/structure must be one of mixed, column/),
    });
    const model = await repeatModel('row');
    await expect(model.forward(randomTokens(15, V, 1))).rejects.toMatchObject({ code: 'SHAPE_MISMATCH', message: expect.stringMatching(/context of 14/) });
    model.dispose();
  });
});
