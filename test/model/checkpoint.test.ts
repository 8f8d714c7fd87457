// SPEC §6.4: save → load gives bit-identical logits; a checkpoint that does not fit fails clearly.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadModel, readWeights, saveModel } from '../../lib/checkpoint.js';
import { readSafetensors, writeSafetensors } from '../../lib/io/safetensors.js';
import { LanguageModel } from '../../lib/model.js';
import { Trainer } from '../../lib/trainer.js';
import { randomTokens, TINY, tinyModel } from '../helpers.js';

async function trainedTinyModel() {
  const model = await tinyModel();
  const trainer = new Trainer(model, { learningRate: 1e-2 });
  for (let i = 0; i < 3; i++) await trainer.step({ tokens: randomTokens(2 * 12, 50, i), batch: 2 });
  trainer.dispose();
  return model;
}

describe('checkpoints', () => {
  it('reloads to bit-identical logits, with the reference key layout and shapes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-ckpt-'));
    const model = await trainedTinyModel();
    await saveModel(model, dir);
    const tokens = randomTokens(12, 50, 42);
    const before = (await model.forward(tokens)).toTypedArray() as Float32Array;
    const loaded = await loadModel(dir);
    const after = (await loaded.forward(tokens)).toTypedArray() as Float32Array;
    expect(Array.from(after)).toEqual(Array.from(before));

    const file = await readSafetensors(join(dir, 'model.safetensors'));
    const shapes = Object.fromEntries([...file.tensors].map(([k, v]) => [k, v.shape]));
    expect(shapes['wte.weight']).toEqual([50, 16]);
    expect(shapes['mixerblocks.0.conv.weight']).toEqual([12, 12, 1]);
    expect(shapes['mixerblocks.0.conv.bias']).toEqual([12]);
    expect(shapes['mixerblocks.1.seq_layernorm.weight']).toEqual([16]);
    expect(shapes['mixerblocks.1.patch_layernorm.bias']).toEqual([16]);
    expect(shapes['mixerblocks.1.patch_ff.0.weight']).toEqual([64, 16]);
    expect(shapes['mixerblocks.1.patch_ff.2.weight']).toEqual([16, 64]);
    expect(shapes['lm_head.weight']).toEqual([50, 16]);
    expect(Object.keys(shapes)).toHaveLength(2 + 2 * 10);
    model.dispose();
    loaded.dispose();
  });

  it('masks a foreign checkpoint whose upper triangle holds values (the reference optimizer leaves them)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-ckpt-'));
    const model = await trainedTinyModel();
    await saveModel(model, dir);
    const tokens = randomTokens(12, 50, 5);
    const before = (await model.forward(tokens)).toTypedArray() as Float32Array;
    // Fill the upper triangles with noise, as the paper's training code leaves them.
    const file = await readSafetensors(join(dir, 'model.safetensors'));
    const tensors = Object.fromEntries([...file.tensors].map(([k, v]) => [k, { ...v, data: v.data.slice() }]));
    for (const name of ['mixerblocks.0.conv.weight', 'mixerblocks.1.conv.weight']) {
      const w = tensors[name].data as Float32Array;
      for (let t = 0; t < 12; t++) for (let s = t + 1; s < 12; s++) w[t * 12 + s] = 100 + t + s;
    }
    await writeSafetensors(join(dir, 'model.safetensors'), tensors);
    const loaded = await loadModel(dir);
    expect(Array.from((await loaded.forward(tokens)).toTypedArray() as Float32Array)).toEqual(Array.from(before));
    const w = loaded.stateDict()['mixerblocks.0.conv.weight'].toTypedArray() as Float32Array;
    expect(w[0 * 12 + 5]).toBe(0);
    model.dispose();
    loaded.dispose();
  });

  it('refuses a checkpoint with a missing or mis-shaped tensor, naming it, and leaves the model unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-ckpt-'));
    const model = await trainedTinyModel();
    await saveModel(model, dir);
    const weights = await readWeights(join(dir, 'model.safetensors'));
    const fresh = await LanguageModel.create(TINY);
    const tokens = randomTokens(12, 50, 1);
    const freshLogits = Array.from((await fresh.forward(tokens)).toTypedArray() as Float32Array);

    const { ['lm_head.weight']: _dropped, ...missing } = weights;
    expect(() => fresh.loadStateDict(missing)).toThrow(/missing tensor lm_head\.weight \[50, 16\]/);
    expect(() => fresh.loadStateDict(missing)).toThrow(expect.objectContaining({ code: 'CHECKPOINT_INVALID' }));

    const wrongShape = { ...weights, 'mixerblocks.0.conv.bias': (await tinyModel({ context: 11 })).stateDict()['mixerblocks.0.conv.bias'] };
    expect(() => fresh.loadStateDict(wrongShape)).toThrow(/mixerblocks\.0\.conv\.bias has shape \[11\], the model needs \[12\]/);
    // Nothing was written by the failed loads.
    expect(Array.from((await fresh.forward(tokens)).toTypedArray() as Float32Array)).toEqual(freshLogits);

    // The same through a checkpoint directory whose config and weights disagree.
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, dModel: 8 }));
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID', message: expect.stringMatching(/lm_head\.weight has shape \[50, 16\], the model needs \[50, 8\]/) });
    model.dispose();
    fresh.dispose();
  });
});
