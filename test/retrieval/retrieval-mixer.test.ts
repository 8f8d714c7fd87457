import { describe, expect, it } from 'vitest';

import { mulberry32 } from '../../lib/data/random.js';
import { evaluateIndirectRetrieval, trainIndirectRetrieval, type EmbeddedPairs } from '../../lib/retrieval/indirect-run.js';
import { indirectRetrievalSamples, stackIndirectSamples } from '../../lib/retrieval/indirect-samples.js';
import { RetrievalMixer, RetrievalTrainer } from '../../lib/retrieval/retrieval-mixer.js';
import { Tensor } from '../../lib/tensor.js';
import { randomFloat64 } from '../helpers.js';

// erf by its Taylor series (|x| < 6; beyond, ±1 to double precision): libtorch's GELU is the exact x·Φ(x).
function erf(x: number): number {
  if (Math.abs(x) >= 6) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

type Weights = Record<string, { values: ArrayLike<number>; shape: number[] }>;

function layerNorm(v: number[], weight: ArrayLike<number>, bias: ArrayLike<number>): number[] {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
  const scale = 1 / Math.sqrt(variance + 1e-5);
  return v.map((x, k) => (x - mean) * scale * weight[k] + bias[k]);
}

/** The retrieval mixer's forward written out: logits [c − 1] for one sample x [c][d]. */
function referenceLogits(w: Weights, x: number[][], layers: number): number[] {
  const c = x.length;
  const d = x[0].length;
  let h = x.map((row) => [...row]);
  for (let l = 0; l < layers; l++) {
    const p = (name: string) => w[`mixerblocks.${l}.${name}`].values;
    const normed = h.map((row) => layerNorm(row, p('seq_layernorm.weight'), p('seq_layernorm.bias')));
    const conv = p('conv.weight'); // [c, c, 1]
    h = h.map((row, i) => row.map((v, k) => v + p('conv.bias')[i] + normed.reduce((s, nj, j) => s + conv[i * c + j] * nj[k], 0)));
    const up = p('patch_ff.0.weight');
    const f = up.length / d;
    h = h.map((row) => {
      const n = layerNorm(row, p('patch_layernorm.weight'), p('patch_layernorm.bias'));
      const hidden = Array.from({ length: f }, (_, r) => gelu(p('patch_ff.0.bias')[r] + n.reduce((s, v, k) => s + up[r * d + k] * v, 0)));
      return row.map((v, k) => v + p('patch_ff.2.bias')[k] + hidden.reduce((s, a, r) => s + p('patch_ff.2.weight')[k * f + r] * a, 0));
    });
  }
  const head = w['retrieval_head.weight'].values;
  return h.slice(1).map((row) => w['retrieval_head.bias'].values[0] + row.reduce((s, v, k) => s + head[k] * v, 0));
}

/** Gives every parameter random values (LayerNorm scales around 1), so each one shows in the output. */
function randomizeWeights(model: RetrievalMixer, seed: number): Weights {
  const out: Weights = {};
  const updated: Record<string, Tensor> = {};
  let s = seed;
  for (const [name, tensor] of Object.entries(model.stateDict())) {
    const n = tensor.shape.reduce((a, b) => a * b, 1);
    const values = randomFloat64(n, s++, 0.5);
    if (name.endsWith('layernorm.weight')) values.forEach((v, i) => (values[i] = 1 + v));
    const typed = tensor.dtype === 'float64' ? values : Float32Array.from(values);
    updated[name] = Tensor.from(typed, tensor.shape);
    out[name] = { values: typed, shape: tensor.shape };
  }
  model.loadStateDict(updated);
  return out;
}

function rows(inputs: ArrayLike<number>, sample: number, c: number, d: number): number[][] {
  return Array.from({ length: c }, (_, i) => Array.from({ length: d }, (_, k) => inputs[(sample * c + i) * d + k]));
}

describe('indirect retrieval model', () => {
  it('computes what its definition says: logits and cross-entropy equal a hand computation (fp64 and fp32)', async () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const [c, d, layers, b] = [6, 8, 2, 3];
      const model = await RetrievalMixer.create({ dModel: d, nLayers: layers, context: c, ffMultiplier: 2, dtype, seed: 1 });
      expect(model.config).toMatchObject({ kind: 'retrieval-mixer', dModel: d, context: c, nLayers: layers, dtype });
      const w = randomizeWeights(model, 10);
      const raw = randomFloat64(b * c * d, 99, 1.5);
      const inputs = dtype === 'float64' ? raw : Float32Array.from(raw);
      const labels = Int32Array.from([1, 3, 5]);
      const logits = await model.logits(inputs, b);
      expect(logits.length).toBe(b * (c - 1));
      let lossSum = 0;
      let correct = 0;
      for (let s = 0; s < b; s++) {
        const expected = referenceLogits(w, rows(inputs, s, c, d), layers);
        const got = Array.from(logits.subarray(s * (c - 1), (s + 1) * (c - 1)));
        const scale = Math.max(...expected.map(Math.abs));
        for (let k = 0; k < c - 1; k++) expect(Math.abs(got[k] - expected[k]) / scale, `${dtype} sample ${s} logit ${k}`).toBeLessThan(dtype === 'float64' ? 1e-10 : 1e-5);
        const max = Math.max(...expected);
        const lse = max + Math.log(expected.reduce((a, v) => a + Math.exp(v - max), 0));
        lossSum += lse - expected[labels[s] - 1];
        if (expected.indexOf(max) === labels[s] - 1) correct++;
      }
      const tolerance = dtype === 'float64' ? 1e-10 : 1e-5;
      const grads = await model.lossGradients({ inputs, labels, batch: b });
      expect(Math.abs(grads.loss - lossSum / b) / (lossSum / b)).toBeLessThan(tolerance);
      const evaluated = await model.evaluate({ inputs, labels, batch: b });
      expect(Math.abs(evaluated.lossSum - lossSum) / lossSum).toBeLessThan(tolerance);
      expect(evaluated).toMatchObject({ correct, samples: b });
      model.dispose();
    }
  });

  it('parameter gradients equal central finite differences (fp64), above the diagonal of the mixing too', async () => {
    const [c, d, b] = [5, 4, 2];
    const model = await RetrievalMixer.create({ dModel: d, nLayers: 2, context: c, ffMultiplier: 2, dtype: 'float64', seed: 6 });
    randomizeWeights(model, 50);
    const batch = { inputs: randomFloat64(b * c * d, 7), labels: Int32Array.from([2, 4]), batch: b };
    const { gradients } = await model.lossGradients(batch);
    const state = model.stateDict();
    const eps = 1e-6;
    for (const [name, at] of [['mixerblocks.0.conv.weight', 1], ['mixerblocks.0.conv.weight', 3 * c + 1], ['mixerblocks.1.conv.weight', 2], ['mixerblocks.1.conv.bias', 0], ['mixerblocks.0.patch_ff.0.weight', 5], ['retrieval_head.bias', 0]] as const) {
      const base = state[name].toTypedArray() as Float64Array;
      const loss = async (delta: number) => {
        const copy = Float64Array.from(base);
        copy[at] += delta;
        model.loadStateDict({ ...model.stateDict(), [name]: Tensor.from(copy, state[name].shape) });
        return (await model.lossGradients(batch)).loss;
      };
      const numeric = ((await loss(eps)) - (await loss(-eps))) / (2 * eps);
      await loss(0);
      const g = (gradients[name].toTypedArray() as Float64Array)[at];
      expect(Math.abs(g - numeric), `${name}[${at}]`).toBeLessThan(1e-7 * Math.max(1, Math.abs(numeric)));
    }
    // Entry [0][1] of a mixing matrix (position 0 reading position 1) is above the diagonal: a causal mixer would
    // give it no gradient.
    expect(Math.abs((gradients['mixerblocks.0.conv.weight'].toTypedArray() as Float64Array)[1])).toBeGreaterThan(1e-6);
    model.dispose();
  });

  it('scores each candidate at its own position: with position-symmetric mixing, permuting candidates permutes the logits', async () => {
    const [c, d] = [7, 8];
    const model = await RetrievalMixer.create({ dModel: d, nLayers: 2, context: c, dtype: 'float64', seed: 2 });
    const w = randomizeWeights(model, 30);
    // W = a·I + β·11ᵀ with equal biases treats positions alike, so the model is permutation-equivariant.
    const symmetric: Record<string, Tensor> = {};
    for (const [name, { values, shape }] of Object.entries(w)) {
      const v = Float64Array.from(values);
      if (name.endsWith('conv.weight')) v.forEach((_, i) => (v[i] = (Math.floor(i / c) === i % c ? 0.7 : 0) + 0.1));
      if (name.endsWith('conv.bias')) v.fill(0.05);
      symmetric[name] = Tensor.from(v, shape);
    }
    model.loadStateDict(symmetric);
    const inputs = randomFloat64(c * d, 5);
    const order = [0, 4, 1, 6, 2, 5, 3]; // the query stays at 0
    const permuted = new Float64Array(c * d);
    order.forEach((from, to) => permuted.set(inputs.subarray(from * d, (from + 1) * d), to * d));
    const a = await model.logits(inputs, 1);
    const p = await model.logits(permuted, 1);
    for (let to = 1; to < c; to++) expect(p[to - 1]).toBeCloseTo(a[order[to] - 1], 10);
    // Moving the query out of position 0 changes everything: position 0 is not a candidate.
    const swapped = Float64Array.from(inputs);
    swapped.set(inputs.subarray(d, 2 * d), 0);
    swapped.set(inputs.subarray(0, d), d);
    const q = await model.logits(swapped, 1);
    expect(Math.max(...Array.from(q, (v, k) => Math.abs(v - a[k])))).toBeGreaterThan(1e-3);
    model.dispose();
  });

  it('learns to find a planted match: held-out cross-entropy far below ln(c − 1), top-1 far above chance', async () => {
    const [c, d] = [8, 16];
    const planted = (count: number, seed: number): EmbeddedPairs => {
      const rng = mulberry32(seed);
      const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
      const queries = Float32Array.from({ length: count * d }, normal);
      const targets = queries.map((q) => q + 0.3 * normal());
      return { queries: { vectors: queries, count, dim: d }, targets: { vectors: targets, count, dim: d } };
    };
    const train = planted(256, 1);
    const held = planted(64, 2);
    const trainCopy = Float32Array.from(train.queries.vectors);
    const model = await RetrievalMixer.create({ dModel: d, nLayers: 2, context: c, seed: 3 });
    const before = await evaluateIndirectRetrieval(model, held, { rounds: 4 });
    const losses = await trainIndirectRetrieval(model, train, { steps: 300, samples: 32, learningRate: 3e-3, seed: 1 });
    const after = await evaluateIndirectRetrieval(model, held, { rounds: 4 });
    expect(before.chanceLoss).toBeCloseTo(Math.log(c - 1), 12);
    expect(after.samples).toBe(4 * 64);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(after.loss).toBeLessThan(0.3 * Math.log(c - 1));
    expect(after.top1).toBeGreaterThan(0.8);
    expect(before.top1).toBeLessThan(0.5);
    // The embeddings are data: training read them and left them as they were.
    expect(train.queries.vectors).toEqual(trainCopy);
    model.dispose();
  }, 60_000);

  it('sends no gradient to its inputs; every gradient is a parameter of the retrieval model', async () => {
    const [c, d] = [5, 8];
    const model = await RetrievalMixer.create({ dModel: d, nLayers: 1, context: c, seed: 4 });
    const pairs: EmbeddedPairs = {
      queries: { vectors: Float32Array.from(randomFloat64(12 * d, 1)), count: 12, dim: d },
      targets: { vectors: Float32Array.from(randomFloat64(12 * d, 2)), count: 12, dim: d },
    };
    const batch = stackIndirectSamples([...indirectRetrievalSamples(pairs.queries, pairs.targets, { context: c })], d);
    const copy = Float32Array.from(batch.inputs);
    const { gradients, inputsRequireGrad, loss } = await model.lossGradients(batch);
    expect(inputsRequireGrad).toBe(false);
    expect(Number.isFinite(loss)).toBe(true);
    expect(Object.keys(gradients).sort()).toEqual(Object.keys(model.stateDict()).sort());
    expect(Object.keys(gradients).every((n) => n.startsWith('mixerblocks.') || n.startsWith('retrieval_head.'))).toBe(true);
    const trainer = new RetrievalTrainer(model, { learningRate: 1e-2 });
    await trainer.step(batch);
    expect(trainer.stepsTaken).toBe(1);
    expect(batch.inputs).toEqual(copy);
    trainer.dispose();
    model.dispose();
  });

  it('refuses bad shapes, labels, configs and too few pairs with clear errors', async () => {
    await expect(RetrievalMixer.create({ dModel: 8, context: 1 })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/context must be at least 2/) });
    const model = await RetrievalMixer.create({ dModel: 4, nLayers: 1, context: 4 });
    await expect(model.logits(new Float32Array(3 * 4 * 4 - 1), 3)).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    await expect(model.evaluate({ inputs: new Float32Array(2 * 16), labels: Int32Array.from([1, 0]), batch: 2 })).rejects.toMatchObject({ message: expect.stringMatching(/position 0 is the query/) });
    await expect(model.evaluate({ inputs: new Float32Array(2 * 16), labels: Int32Array.from([1, 4]), batch: 2 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(model.logits(new Float32Array(16).fill(Number.NaN), 1)).rejects.toMatchObject({ message: expect.stringMatching(/non-finite/) });
    const few: EmbeddedPairs = { queries: { vectors: new Float32Array(12), count: 3, dim: 4 }, targets: { vectors: new Float32Array(12), count: 3, dim: 4 } };
    await expect(evaluateIndirectRetrieval(model, few)).rejects.toThrow(/needs at least 4 pairs, got 3/);
    const wide: EmbeddedPairs = { queries: { vectors: new Float32Array(40), count: 5, dim: 8 }, targets: { vectors: new Float32Array(40), count: 5, dim: 8 } };
    await expect(evaluateIndirectRetrieval(model, wide)).rejects.toThrow(/8 wide but the retrieval model reads 4/);
    // A precision other than 'auto' / 'fp32' is refused, not run as 'auto'.
    const fine: EmbeddedPairs = { queries: { vectors: new Float32Array(20), count: 5, dim: 4 }, targets: { vectors: new Float32Array(20), count: 5, dim: 4 } };
    await expect(model.evaluate({ inputs: new Float32Array(16), labels: Int32Array.from([1]), batch: 1 }, { precision: 'bf16' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/precision must be 'auto' or 'fp32', got "bf16"/) });
    await expect(evaluateIndirectRetrieval(model, fine, { precision: 'bf16' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/precision/) });
    await expect(evaluateIndirectRetrieval(model, fine, { precision: 'fp32' })).resolves.toMatchObject({ samples: 5 });
    // Gradient accumulation is a language-model Trainer option; here it is refused, not silently ignored.
    expect(() => new RetrievalTrainer(model, { gradientAccumulation: 2 } as never)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    model.dispose();
  });
});
