// LayerNorm as the fused sublayers use it: forward to a chosen dtype with saved statistics, recomputation of the
// output from them, and a backward that adds the residual branch's gradient. On CUDA (float32 input, d % 8 == 0,
// d ≤ 1024) these are maskmix's own kernels; otherwise libtorch's native layer norm.
#pragma once

#include <ATen/ATen.h>

#include <tuple>

namespace maskmix {

struct NormStats {
  at::Tensor mean, rstd;
  bool kernel = false;  // which implementation made them (their shapes differ)
};

// y = LayerNorm(x) over the last axis, in `outDtype`.
std::pair<at::Tensor, NormStats> layerNormForward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, double eps,
                                                  at::ScalarType outDtype);
// The same output again from saved statistics (backward passes recompute instead of storing it).
at::Tensor layerNormRecompute(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, double eps, const NormStats& stats,
                              at::ScalarType outDtype);
// (d/dx + residualGrad, d/dw, d/db) given d/dy in any float dtype; gradients in x's dtype.
std::tuple<at::Tensor, at::Tensor, at::Tensor> layerNormBackward(const at::Tensor& gradY, const at::Tensor& x, const at::Tensor& w,
                                                                 const at::Tensor& b, const NormStats& stats,
                                                                 const at::Tensor& residualGrad);

}  // namespace maskmix
