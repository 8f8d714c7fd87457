// LayerNorm as the fused sublayers use it: forward to a chosen dtype with saved statistics, recomputation of the
// output from them, and a backward that adds the residual branch's gradient. On CUDA (float32 input, d % 8 == 0,
// d ≤ 1024) these are maskmix's own kernels; otherwise libtorch's native layer norm.
#pragma once

#include <ATen/ATen.h>

#include <optional>

namespace maskmix {

struct NormStats {
  at::Tensor mean, rstd;
  bool kernel = false;  // which implementation made them (their shapes differ)
};

struct LayerNormOutput {
  at::Tensor y;
  NormStats stats;
  at::Tensor input;   // what was normalised: x, or x + delta (float32) when a delta was given
  at::Tensor padded;  // with extraRows: the buffer y is the trailing rows of, else undefined
};
// y = LayerNorm(x) over the last axis, in `outDtype`. With delta (a sublayer's output not yet added to the float32
// residual stream x; undefined for none) the row normalised is x + delta, formed inside the kernel. With extraRows,
// y is written into the last x.size(0) rows (first axis) of a buffer that has extraRows more in front, left for
// the caller to fill (the mixing sublayer's bias row).
LayerNormOutput layerNormForward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, double eps, at::ScalarType outDtype,
                                 const at::Tensor& delta = {}, int64_t extraRows = 0);

// What a sublayer's backward keeps of its LayerNorm forward. With maskmix's kernels, by default, the output y (the
// compute-dtype tensor the next product reads anyway) and rstd: the float32 input is not kept, y is not recomputed,
// and the backward recovers x̂ = (y − β)/γ (Apex's "memory-efficient" LayerNorm does the same). Half the bytes kept
// and one pass over the rows fewer; the price is x̂ at y's precision (bf16: 2⁻⁹ relative, amplified where |γ| is
// small). Otherwise (libtorch's layer norm, or MASKMIX_LAYERNORM_SAVES=input to measure one against the other): the
// float32 input and both statistics, with y recomputed in backward.
struct LayerNormSaved {
  at::Tensor tensor;  // y (output) or the normalised input x (float32)
  NormStats stats;    // mean is undefined when the output is kept
  bool output = false;
};
LayerNormSaved layerNormSaved(const LayerNormOutput& forward);
// y again: the kept output, or recomputed from the kept input and statistics.
at::Tensor layerNormNormed(const LayerNormSaved& saved, const at::Tensor& w, const at::Tensor& b, double eps, at::ScalarType outDtype);

struct LayerNormGradients {
  at::Tensor x;      // d/dx + residualGrad, in w's dtype (float32: the residual stream's)
  at::Tensor xCopy;  // the same in copyDtype when one was asked for (a deferred delta's gradient), else undefined
  at::Tensor w, b;
};
// Gradients given d/dy in any float dtype; residualGrad (may be undefined) is added to d/dx in the same pass.
LayerNormGradients layerNormBackward(const at::Tensor& gradY, const LayerNormSaved& saved, const at::Tensor& w, const at::Tensor& b,
                                     const at::Tensor& residualGrad, std::optional<at::ScalarType> copyDtype = std::nullopt);

}  // namespace maskmix
