// The Llama-style baseline (SPEC §2): causal, Hugging Face parameter names and config, checkpoint round-trip,
// and it learns.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadModel, saveModel } from '../../lib/checkpoint.js';
import { LanguageModel } from '../../lib/model.js';
import { Trainer } from '../../lib/trainer.js';
import { randomTokens } from '../helpers.js';

const CONFIG = { kind: 'llama' as const, vocabSize: 40, dModel: 16, nLayers: 2, nHeads: 2, context: 10, seed: 4 };

describe('llama baseline', () => {
  it('is exactly causal', async () => {
    const model = await LanguageModel.create(CONFIG);
    const base = randomTokens(10, 40, 1);
    const before = (await model.forward(base)).toTypedArray() as Float32Array;
    const changed = Int32Array.from(base);
    changed[6] = (changed[6] + 3) % 40;
    const after = (await model.forward(changed)).toTypedArray() as Float32Array;
    for (let i = 0; i < 6 * 40; i++) expect(after[i]).toBe(before[i]);
    expect(after.subarray(6 * 40, 7 * 40).some((v, k) => v !== before[6 * 40 + k])).toBe(true);
    model.dispose();
  });

  it('uses the LlamaForCausalLM names, writes a transformers config.json and reloads bit-identically', async () => {
    const model = await LanguageModel.create(CONFIG);
    const names = Object.keys(model.stateDict()).sort();
    expect(names).toContain('model.embed_tokens.weight');
    expect(names).toContain('model.layers.1.self_attn.q_proj.weight');
    expect(names).toContain('model.layers.0.mlp.gate_proj.weight');
    expect(names).toContain('model.layers.0.input_layernorm.weight');
    expect(names).toContain('model.layers.0.post_attention_layernorm.weight');
    expect(names).toContain('model.norm.weight');
    expect(names).toContain('lm_head.weight');
    expect(names).toHaveLength(2 * 9 + 3);
    const dir = mkdtempSync(join(tmpdir(), 'maskmix-llama-'));
    await saveModel(model, dir);
    const hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(hf).toMatchObject({ model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 16, num_attention_heads: 2, intermediate_size: 64, tie_word_embeddings: false });
    const loaded = await loadModel(dir);
    expect(loaded.config).toMatchObject({ kind: 'llama', nHeads: 2, dModel: 16 });
    const tokens = randomTokens(10, 40, 2);
    expect(Array.from((await loaded.forward(tokens)).toTypedArray() as Float32Array)).toEqual(
      Array.from((await model.forward(tokens)).toTypedArray() as Float32Array),
    );
    // A config asking for what the baseline does not compute is refused, naming each feature.
    for (const [field, value, named] of [
      ['num_key_value_heads', 1, /grouped-query/],
      ['tie_word_embeddings', true, /tie_word_embeddings/],
      ['rope_scaling', { type: 'linear', factor: 2 }, /rope_scaling/],
      ['hidden_act', 'gelu', /hidden_act 'gelu'/],
      ['attention_bias', true, /attention_bias/],
    ] as const) {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...hf, [field]: value }));
      await expect(loadModel(dir)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(named) });
    }
    // Plain RoPE written out as a "default" scaling loads.
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...hf, rope_scaling: { rope_type: 'default' } }));
    (await loadModel(dir)).dispose();
    model.dispose();
    loaded.dispose();
  });

  it('trains: the loss on a repeated batch falls', async () => {
    const model = await LanguageModel.create(CONFIG);
    const trainer = new Trainer(model, { learningRate: 3e-3 });
    const tokens = randomTokens(4 * 10, 40, 3);
    const first = (await trainer.step({ tokens, batch: 4 })).loss!;
    let last = first;
    for (let i = 0; i < 30; i++) last = (await trainer.step({ tokens, batch: 4 })).loss!;
    expect(last).toBeLessThan(first - 1);
    model.dispose();
  });

  it('rejects a head count that does not split dModel into even widths', async () => {
    await expect(LanguageModel.create({ ...CONFIG, nHeads: 3 })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/nHeads/) });
  });
});
