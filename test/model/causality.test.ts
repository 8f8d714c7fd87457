// SPEC §6.1: changing token j never changes the logits at positions t < j — exactly, in fp32.
import { describe, expect, it } from 'vitest';

import { randomTokens, tinyModel } from '../helpers.js';

describe('causality of the masked mixer', () => {
  it('leaves every logit before position j bit-identical when token j changes, and changes position j', async () => {
    const model = await tinyModel({ context: 16, nLayers: 3 });
    const n = 16;
    const base = randomTokens(n, 50, 7);
    const baseLogits = (await model.forward(base)).toTypedArray() as Float32Array;
    const V = 50;
    for (const j of [0, 1, 5, 15]) {
      const changed = Int32Array.from(base);
      changed[j] = (changed[j] + 17) % V;
      const logits = (await model.forward(changed)).toTypedArray() as Float32Array;
      for (let i = 0; i < j * V; i++) expect(logits[i]).toBe(baseLogits[i]);
      const atJ = logits.subarray(j * V, (j + 1) * V);
      expect(atJ.some((v, k) => v !== baseLogits[j * V + k])).toBe(true);
    }
    model.dispose();
  });

  // Different lengths run different GEMM shapes, so equality here is to rounding, not bits.
  it('gives a prefix the same logits alone as inside a longer sequence', async () => {
    const model = await tinyModel();
    const tokens = randomTokens(12, 50, 9);
    const full = (await model.forward(tokens)).toTypedArray() as Float32Array;
    const prefix = (await model.forward(tokens.subarray(0, 5))).toTypedArray() as Float32Array;
    for (let i = 0; i < prefix.length; i++) expect(Math.abs(prefix[i] - full[i])).toBeLessThan(1e-5);
    model.dispose();
  });
});
