// Training FLOPs (lib/flops.ts) for every model option: each count equals a formula derived by hand on a small
// config, configurations counted before keep their numbers, and — independently of the formulas — the count
// equals 6·(dense parameters)·tokens plus the mixing term read off the built model's own weights (the nonzero
// entries of its masked mixing matrices, which zeroMaskedEntries leaves only where the mixing computes).
import { describe, expect, it } from 'vitest';

import { forwardFlopsPerToken, trainingFlops } from '../../lib/flops.js';
import { resolveModelConfig, type ModelConfig, type ModelConfigInput } from '../../lib/model-config.js';
import { LanguageModel } from '../../lib/model.js';

const v = 10;
const d = 8;
const n = 6;
const f = 2;
const small = { vocabSize: v, dModel: d, nLayers: 1, context: n, ffMultiplier: f };
const mean = (n + 1) / 2;
const head = 2 * d * v;
const ff = 2 * 2 * d * f * d;
const flops = (input: ModelConfigInput) => forwardFlopsPerToken(resolveModelConfig(input));

describe('FLOPs: hand-derived formulas', () => {
  it('keeps the numbers of configurations counted before (flat mixer, llama, mixer autoencoder)', () => {
    expect(flops({ ...small, nLayers: 2 })).toBe(2 * (ff + 2 * d * mean) + head);
    expect(flops({ kind: 'llama', vocabSize: v, dModel: d, nLayers: 2, context: n, nHeads: 2 })).toBe(
      2 * (2 * 4 * d * d + 2 * 3 * d * 4 * d + 2 * 2 * d * mean) + head,
    );
    expect(flops({ kind: 'autoencoder', ...small, nLayers: 2 })).toBe(2 * 2 * (ff + 2 * d * mean) + head);
  });

  it('mixer nHeads: proj_head (d·d in all) and out_proj (d·d) on top of the flat mixing', () => {
    expect(flops({ ...small, nHeads: 2 })).toBe(ff + 2 * d * d + 2 * d * d + 2 * d * mean + head);
  });

  it('mixer kernelSize k: k masked matrices', () => {
    expect(flops({ ...small, kernelSize: 3 })).toBe(ff + 3 * 2 * d * mean + head);
  });

  it('mixer mixingExpansion: W1 [h, n] and W2 [n, h] causal, h = round(e·n) capped at n', () => {
    // e = 0.5: h = 3. W1 rows read 1, 2, 3 inputs (6); W2 rows read 1, 2, 3, 3, 3, 3 hidden rows (15).
    expect(flops({ ...small, mixingExpansion: 0.5 })).toBeCloseTo(ff + (2 * d * (6 + 15)) / n + head, 9);
    // e = 2: h = 12 rows exist but only n = 6 are reachable: 21 + 21 entries.
    expect(flops({ ...small, mixingExpansion: 2 })).toBeCloseTo(ff + (2 * d * (21 + 21)) / n + head, 9);
  });

  it('mixer mixingSoftmax: elementwise, no extra products', () => {
    expect(flops({ ...small, mixingSoftmax: true })).toBe(flops(small));
  });

  it('mixer bidirectional: a reverse stream of nLayers blocks reading triu(W, 2)', () => {
    // Reverse rows read 4, 3, 2, 1, 0, 0 positions: 10 = (n−1)(n−2)/2.
    expect(flops({ ...small, nLayers: 2, bidirectional: true })).toBeCloseTo(2 * (ff + 2 * d * mean) + 2 * (ff + (2 * d * 10) / n) + head, 9);
  });

  it('multi-token prediction: offset j adds its d×d head and the output projection on n − j positions', () => {
    const extra = ((n - 2) / n) * (2 * d * d + head) + ((n - 3) / n) * (2 * d * d + head);
    expect(flops({ ...small, predictTokens: 3 })).toBeCloseTo(flops(small) + extra, 9);
    expect(flops({ kind: 'llama', vocabSize: v, dModel: d, nLayers: 1, context: n, nHeads: 2, predictTokens: 2 })).toBeCloseTo(
      flops({ kind: 'llama', vocabSize: v, dModel: d, nLayers: 1, context: n, nHeads: 2 }) + ((n - 2) / n) * (2 * d * d + head),
      9,
    );
  });

  it("autoencoder blocks 'llama': two stacks of Llama layers (SwiGLU width ffMultiplier·d by default)", () => {
    const layer = (inner: number) => 2 * 4 * d * d + 2 * 3 * d * inner + 2 * 2 * d * mean;
    for (const variant of ['plain', 'memory'] as const)
      expect(flops({ kind: 'autoencoder', ...small, nLayers: 2, blocks: 'llama', nHeads: 2, variant })).toBe(2 * 2 * layer(f * d) + head);
    expect(flops({ kind: 'autoencoder', ...small, blocks: 'llama', nHeads: 2, intermediateSize: 20 })).toBe(2 * layer(20) + head);
  });

  it('linear gated coefficients: logits over every slot of the row (KA + KB) from its own input', () => {
    const gated = (pattern: string, slots: number) =>
      expect(flops({ kind: 'linear', ...small, nHeads: 2, pattern, coefficients: 'gated' } as ModelConfigInput)).toBe(
        flops({ kind: 'linear', ...small, nHeads: 2, pattern } as ModelConfigInput) + 2 * d * slots,
      );
    // n = 6: attention 6 lags; local min(8, 6); first-order 1 + 1; kth-order (4) 1 + 4; dense 1 + 5;
    // pow2 offsets 1, 2, 4; square offsets 1, 2, 5.
    gated('attention', 6);
    gated('local', 6);
    gated('first-order', 2);
    gated('kth-order', 5);
    gated('dense', 6);
    gated('pow2-lattice', 4);
    gated('square', 4);
  });

  it('linear: the solve linearSolve picks sets the reads of (I − B)·Y = z (one block of n rows, or 64-row chunks)', () => {
    const base = { kind: 'linear' as const, vocabSize: v, dModel: d, nLayers: 1, nHeads: 1, pattern: 'first-order' as const, projections: false };
    const at = (context: number, linearSolve: 'auto' | 'dense' | 'chunked', pattern: 'first-order' | 'dense' = 'first-order') =>
      flops({ ...base, context, linearSolve, pattern } as ModelConfigInput) - 2 * d * v - 2 * 2 * d * (4 * d);
    const reads = (context: number) => (context + 1) / 2;
    // first-order: A reads 1 lag; chunked: B's one slot across chunks + half a chunk inside; dense: every earlier row.
    expect(at(1024, 'chunked')).toBeCloseTo(2 * d * (1 + 1 + 32), 6);
    expect(at(1024, 'auto')).toBeCloseTo(2 * d * (1 + 1 + 32), 6);
    expect(at(1024, 'dense')).toBeCloseTo(2 * d * (1 + reads(1024)), 6);
    // n ≤ 64 is one block whatever the choice; the dense pattern's auto solve is one block too.
    expect(at(32, 'chunked')).toBeCloseTo(2 * d * (1 + reads(32)), 6);
    expect(at(1024, 'auto', 'dense')).toBeCloseTo(2 * d * (1 + reads(1024)), 6);
    expect(at(1024, 'chunked', 'dense')).toBeCloseTo(2 * d * (1 + reads(1024) + 32), 6);
  });

  it('repeat and linear keep their counts (projections in and out, feed-forward, structured mixing)', () => {
    expect(flops({ kind: 'repeat', ...small, nHeads: 2 })).toBe(ff + 2 * 2 * d * d + 2 * d * mean + head);
    expect(flops({ kind: 'linear', ...small, nHeads: 2, pattern: 'local', window: 4 })).toBe(ff + 2 * 2 * d * d + 2 * d * 4 + head);
  });
});

/** 2-D weights the model multiplies by, per token, and its mixing products, read from the built model. */
async function countFromWeights(config: ModelConfig): Promise<{ dense: number; mixing: number }> {
  const model = await LanguageModel.create(config);
  const state = model.stateDict();
  let dense = 0;
  let mixing = 0;
  const heads = config.kind === 'mixer' ? (config.nHeads ?? 1) : 1;
  for (const [name, tensor] of Object.entries(state)) {
    const shape = tensor.shape;
    if (/(^|\.)conv(\.\d+)*\.weight$/.test(name)) {
      // A masked mixing of d/H channels per head: 2·channels·(nonzero entries) over n tokens.
      const values = tensor.toTypedArray() as Float32Array;
      const nonzero = values.reduce((a, x) => a + (x !== 0 ? 1 : 0), 0);
      mixing += (2 * (config.dModel / heads) * nonzero) / config.context;
    } else if (name.endsWith('gate_weight')) {
      dense += shape.reduce((a, b) => a * b, 1);
    } else if (shape.length === 2 && !name.endsWith('bias') && name !== 'wte.weight' && !name.endsWith('embed_positions.weight') && !name.startsWith('mtp_heads')) {
      dense += shape[0] * shape[1];
    }
  }
  for (const tensor of Object.values(state)) tensor.dispose();
  model.dispose();
  return { dense, mixing };
}

describe('FLOPs: 6·params·tokens plus mixing, from the built model', () => {
  const tokens = 1000;
  const mixers: ModelConfigInput[] = [
    small,
    { ...small, nHeads: 2 },
    { ...small, kernelSize: 3 },
    { ...small, mixingExpansion: 0.5 },
    { ...small, mixingSoftmax: true, nHeads: 2 },
    { ...small, bidirectional: true, kernelSize: 2 },
    { kind: 'autoencoder', ...small, variant: 'memory' },
  ];
  // Generalized linear mixing: the static patterns' reads are not parameter entries, but the gated coefficients'
  // gate_weight [H, KA + KB, d/H] is exactly what each token multiplies by.
  for (const pattern of ['attention', 'dense', 'pow2', 'square-lattice'] as const) {
    it(`linear ${pattern}, gated: gate_weight is counted as a dense weight`, async () => {
      const input = { kind: 'linear' as const, ...small, nHeads: 2, pattern };
      const withGate = resolveModelConfig({ ...input, coefficients: 'gated' });
      const { dense } = await countFromWeights(withGate);
      const staticDense = (await countFromWeights(resolveModelConfig(input))).dense;
      expect(trainingFlops(withGate, tokens) - trainingFlops(resolveModelConfig(input), tokens)).toBeCloseTo(6 * (dense - staticDense) * tokens, 3);
    });
  }
  for (const input of mixers) {
    it(`${JSON.stringify(input)}`, async () => {
      const config = resolveModelConfig({ ...input, seed: 1 });
      const { dense, mixing } = await countFromWeights(config);
      expect(trainingFlops(config, tokens)).toBeCloseTo(6 * dense * tokens + 3 * mixing * tokens, 3);
    });
  }

  for (const variant of ['plain', 'memory'] as const) {
    it(`autoencoder blocks 'llama' ${variant}: 6·params·tokens plus the attention scores and values`, async () => {
      const config = resolveModelConfig({ kind: 'autoencoder', ...small, nLayers: 2, blocks: 'llama', nHeads: 2, variant });
      const { dense, mixing } = await countFromWeights(config);
      expect(mixing).toBe(0);
      const attention = 2 * 2 * (2 * 2 * d * mean); // two stacks of two layers, 2·2·d·(n+1)/2 each
      expect(trainingFlops(config, tokens)).toBeCloseTo(6 * dense * tokens + 3 * attention * tokens, 3);
    });
  }
});
