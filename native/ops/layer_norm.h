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
  at::Tensor input;  // what was normalised: x, or x + delta (float32) when a delta was given
};
// y = LayerNorm(x) over the last axis, in `outDtype`. With delta (a sublayer's output not yet added to the float32
// residual stream x; undefined for none) the row normalised is x + delta, formed inside the kernel.
LayerNormOutput layerNormForward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, double eps, at::ScalarType outDtype,
                                 const at::Tensor& delta = {});
// The same output again from saved statistics (backward passes recompute instead of storing it).
at::Tensor layerNormRecompute(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, double eps, const NormStats& stats,
                              at::ScalarType outDtype);
struct LayerNormGradients {
  at::Tensor x;      // d/dx + residualGrad, in x's dtype
  at::Tensor xCopy;  // the same in copyDtype when one was asked for (a deferred delta's gradient), else undefined
  at::Tensor w, b;
};
// Gradients given d/dy in any float dtype; residualGrad (may be undefined) is added to d/dx in the same pass.
LayerNormGradients layerNormBackward(const at::Tensor& gradY, const at::Tensor& x, const at::Tensor& w, const at::Tensor& b,
                                     const NormStats& stats, const at::Tensor& residualGrad,
                                     std::optional<at::ScalarType> copyDtype = std::nullopt);

}  // namespace maskmix
