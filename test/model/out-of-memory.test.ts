// libtorch reports a failed host allocation and a missing CUDA build as plain c10::Errors; maskmix names them
// OUT_OF_MEMORY and CUDA_UNAVAILABLE (native/common/error.cpp) instead of INTERNAL.
import { describe, expect, it } from 'vitest';

import { LanguageModel } from '../../lib/model.js';
import { native } from '../../lib/native.js';
import { Tensor } from '../../lib/tensor.js';

describe('allocation failures', () => {
  it('a model too large for any host answers OUT_OF_MEMORY', async () => {
    // The context×context mixing matrix alone would take 4 TB (10^6 squared float32s), so the first allocation
    // fails on every machine instead of eating its memory.
    await expect(LanguageModel.create({ vocabSize: 64, dModel: 32, nLayers: 1, context: 1_000_000, seed: 0 })).rejects.toMatchObject({
      code: 'OUT_OF_MEMORY',
      message: expect.stringMatching(/host memory allocation failed/),
    });
  });

  it.skipIf(native().runtimeInfo().builtWithCuda)('moving a tensor to CUDA in a build without CUDA answers CUDA_UNAVAILABLE', () => {
    const t = Tensor.from(new Float32Array([1, 2]), [2]);
    expect(() => t.to({ device: 'cuda' })).toThrow(expect.objectContaining({ code: 'CUDA_UNAVAILABLE' }));
  });
});
