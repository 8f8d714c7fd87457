import { describe, expect, it } from 'vitest';

import { Trainer } from '../../lib/trainer.js';
import { Tensor } from '../../lib/tensor.js';
import { embed, leftPad } from '../../lib/retrieval/embed.js';
import { embeddingTopOne } from '../../lib/retrieval/top-one.js';
import { contrastiveBatches } from '../../lib/retrieval/contrastive-batches.js';
import { maxRelativeError, randomTokens, tinyModel } from '../helpers.js';

const V = 50;

describe('retrieval embeddings', () => {
  it("is the final hidden state at the chosen token: times the output weight it gives that token's logits", async () => {
    for (const kind of ['mixer', 'llama'] as const) {
      const model = await tinyModel({ kind, ...(kind === 'llama' ? { nHeads: 2 } : {}) });
      const t = 12;
      const tokens = randomTokens(3 * t, V, 1);
      const logits = (await model.forward(tokens, 3)).toTypedArray() as Float32Array;
      const head = model.stateDict()['lm_head.weight'].toTypedArray() as Float32Array;
      for (const [token, position] of [['last', t - 1], ['second-to-last', t - 2]] as const) {
        const e = await embed(model, { tokens, batch: 3 }, { token });
        expect(e.count).toBe(3);
        expect(e.dim).toBe(16);
        const projected = new Float32Array(3 * V);
        const expected = new Float32Array(3 * V);
        for (let b = 0; b < 3; b++)
          for (let v = 0; v < V; v++) {
            let s = 0;
            for (let k = 0; k < 16; k++) s += e.vectors[b * 16 + k] * head[v * 16 + k];
            projected[b * V + v] = s;
            expected[b * V + v] = logits[(b * t + position) * V + v];
          }
        expect(maxRelativeError(projected, expected), `${kind} ${token}`).toBeLessThan(1e-5);
      }
      model.dispose();
    }
  });

  it('left-pads token sequences to one length and embeds them in batches like one pass', async () => {
    const model = await tinyModel();
    const sequences = [[1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17], [9]];
    const a = await embed(model, sequences, { batchSize: 2 });
    const b = await embed(model, { tokens: leftPad(sequences, 12, model.config.padId), batch: 3 });
    expect(maxRelativeError(a.vectors, b.vectors)).toBeLessThan(1e-5);
    await expect(embed(model, ['text'])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    model.dispose();
  });
});

describe('InfoNCE', () => {
  it('parameter gradients equal central finite differences of the loss (fp64)', async () => {
    for (const token of ['second-to-last', 'last'] as const) {
      const model = await tinyModel({ dtype: 'float64', nLayers: 1, context: 6, dModel: 8 });
      const objective = { objective: 'infonce', infoNceGroup: 4, infoNceTemperature: 0.5, embeddingToken: token } as const;
      const batch = { tokens: randomTokens(2 * 4 * 6, V, 11), batch: 8 };
      const { loss, gradients } = await model.lossGradients(batch, objective);
      expect(loss).toBeGreaterThan(0);
      const state = model.stateDict();
      const eps = 1e-6;
      for (const name of Object.keys(state)) {
        if (name === 'lm_head.weight') {
          // Retrieval embeddings come before the output projection: it gets no gradient.
          expect((gradients[name].toTypedArray() as Float64Array).every((g) => g === 0)).toBe(true);
          continue;
        }
        const base = state[name].toTypedArray() as Float64Array;
        const g = gradients[name].toTypedArray() as Float64Array;
        for (const i of new Set([0, Math.floor(base.length / 2), base.length - 1])) {
          const at = async (delta: number) => {
            const copy = Float64Array.from(base);
            copy[i] += delta;
            model.loadStateDict({ ...model.stateDict(), [name]: Tensor.from(copy, state[name].shape) });
            return (await model.lossGradients(batch, objective)).loss;
          };
          const numeric = ((await at(eps)) - (await at(-eps))) / (2 * eps);
          await at(0);
          expect(Math.abs(g[i] - numeric), `${token} ${name}[${i}]`).toBeLessThan(1e-7 * Math.max(1, Math.abs(numeric)));
        }
      }
      model.dispose();
    }
  });

  it('a few fine-tuning steps raise top-1 accuracy on a tiny planted set', async () => {
    // Pairs whose query is the first 3 tokens of its 7-token passage: left-padded, they sit at other positions, so
    // an untrained model embeds them apart; InfoNCE pulls each query towards its passage.
    const model = await tinyModel({ context: 8, dModel: 32, seed: 5 });
    const pairs = Array.from({ length: 48 }, (_, i) => {
      const passage = Array.from(randomTokens(7, V - 1, 100 + i), (x) => x + 1);
      return { query: passage.slice(0, 3), passage };
    });
    const evaluate = async () => {
      const q = await embed(model, pairs.map((p) => p.query), { length: 8 });
      const p = await embed(model, pairs.map((p) => p.passage), { length: 8 });
      return embeddingTopOne(q, p, [32])[0].accuracy!;
    };
    const before = await evaluate();
    const trainer = new Trainer(model, { objective: 'infonce', infoNceGroup: 16, learningRate: 3e-3 });
    const batches = contrastiveBatches(pairs, { samples: 2, group: 16, length: 8, padId: model.config.padId, seed: 2 });
    const losses: number[] = [];
    for (let s = 0; s < 25; s++) losses.push((await trainer.step(batches.next().value!)).lastLoss!);
    const after = await evaluate();
    expect(after).toBeGreaterThan(before + 0.2);
    expect(losses.slice(-5).reduce((a, b) => a + b) / 5).toBeLessThan(losses.slice(0, 5).reduce((a, b) => a + b) / 5);
    await expect(trainer.step({ tokens: randomTokens(15 * 8, V, 1), batch: 15 })).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    expect(() => new Trainer(model, { objective: 'infonce', infoNceGroup: 1 })).toThrow(/infoNceGroup/);
    trainer.dispose();
    model.dispose();
  });
});
