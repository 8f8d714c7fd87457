// The linear mixer's `linearSolve` config field (lib/model-config.ts): every training solve gives the same loss and
// parameter gradients (they differ in speed only), a bad value is refused at both layers, and the field travels
// through checkpoints (a config.json written before it existed loads as 'auto').
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadModel, saveModel } from '../../lib/checkpoint.js';
import { LINEAR_SOLVES, type LinearPattern, type LinearSolveName } from '../../lib/model-config.js';
import { LanguageModel } from '../../lib/model.js';
import { native } from '../../lib/native.js';
import { maxRelativeError, randomTokens } from '../helpers.js';

const V = 30;
// n = 96 > the 64-row chunk: 'chunked' (and 'auto' for sparse B) runs two chunks, the second reading the first.
const N = 96;
const config = (pattern: LinearPattern, linearSolve: LinearSolveName, overrides: Record<string, unknown> = {}) => ({
  kind: 'linear' as const,
  vocabSize: V,
  dModel: 16,
  nLayers: 2,
  nHeads: 2,
  context: N,
  order: 3,
  seed: 9,
  pattern,
  linearSolve,
  ...overrides,
});

async function lossAndGradients(pattern: LinearPattern, solve: LinearSolveName, overrides: Record<string, unknown>) {
  const model = await LanguageModel.create(config(pattern, solve, overrides));
  const r = await model.lossGradients({ tokens: randomTokens(2 * N, V, 7), batch: 2 });
  const gradients = Object.fromEntries(Object.entries(r.gradients).map(([k, t]) => [k, t.toTypedArray() as Float64Array | Float32Array]));
  model.dispose();
  return { loss: r.loss, gradients };
}

describe('linear mixer training solve (linearSolve)', () => {
  const cases: Array<[LinearPattern, 'static' | 'gated', 'float64' | 'float32']> = [
    ['first-order', 'static', 'float64'],
    ['pow2', 'gated', 'float64'],
    ['square-lattice', 'static', 'float64'],
    // Dense B through the chunked solve: its chunks read the past by a scattered block's matmul, not a gather.
    ['dense', 'static', 'float64'],
    ['kth-order', 'gated', 'float32'],
  ];
  for (const [pattern, coefficients, dtype] of cases) {
    it(`${pattern} (${coefficients}, ${dtype}): auto, dense and chunked give the same loss and gradients`, async () => {
      const tolerance = dtype === 'float64' ? 1e-10 : 1e-5;
      const overrides = { coefficients, dtype };
      const reference = await lossAndGradients(pattern, 'dense', overrides);
      for (const solve of ['auto', 'chunked'] as const) {
        const other = await lossAndGradients(pattern, solve, overrides);
        expect(Math.abs(other.loss - reference.loss) / Math.abs(reference.loss), `${solve} loss`).toBeLessThan(tolerance);
        expect(Object.keys(other.gradients).sort()).toEqual(Object.keys(reference.gradients).sort());
        for (const [name, g] of Object.entries(reference.gradients)) {
          expect(maxRelativeError(other.gradients[name], g), `${solve} ${name}`).toBeLessThan(tolerance);
        }
      }
    });
  }

  it('refuses a bad value, naming the field and the choices (TypeScript and native layers)', async () => {
    expect(LINEAR_SOLVES).toEqual(['auto', 'dense', 'chunked']);
    await expect(LanguageModel.create(config('pow2', 'sequential' as never))).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/linearSolve: linearSolve must be one of auto, dense, chunked/),
    });
    // Past the schema (a hand-written native config): the addon refuses it too.
    const raw = { ...config('pow2', 'auto'), linearSolve: 'sequential', padId: 0, device: 'cpu', dtype: 'float32' };
    await expect(native().createModel(raw)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/linearSolve must be 'auto', 'dense' or 'chunked'/) });
  });

  it('is carried by checkpoints, and a config.json without it loads as auto', async () => {
    const model = await LanguageModel.create(config('first-order', 'chunked', { context: 16 }));
    expect(model.config).toMatchObject({ kind: 'linear', linearSolve: 'chunked' });
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-linsolve-'));
    await saveModel(model, dir);
    const path = join(dir, 'config.json');
    const saved = JSON.parse(readFileSync(path, 'utf8'));
    expect(saved.linearSolve).toBe('chunked');
    const reloaded = await loadModel(dir);
    expect(reloaded.config).toMatchObject({ linearSolve: 'chunked' });
    reloaded.dispose();
    // An older checkpoint: the same file without the field.
    delete saved.linearSolve;
    writeFileSync(path, JSON.stringify(saved));
    const old = await loadModel(dir);
    expect(old.config).toMatchObject({ kind: 'linear', pattern: 'first-order', linearSolve: 'auto' });
    const tokens = randomTokens(16, V, 2);
    expect(Array.from((await old.forward(tokens)).toTypedArray() as Float32Array)).toEqual(Array.from((await model.forward(tokens)).toTypedArray() as Float32Array));
    old.dispose();
    model.dispose();
  });
});
