// Fused pieces of the Llama baseline, each one autograd function: RMSNorm (writes its output directly in the
// compute dtype and saves only rstd), SwiGLU's silu(gate)·up, and rotary positions. On CUDA they run maskmix's
// own kernels (native/kernels); elsewhere, or for shapes the kernels do not take, the same math in libtorch ops.
#pragma once

#include <ATen/ATen.h>

namespace maskmix {

// x: [..., d]; weight: [d]. Output in `outDtype`.
at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps, at::ScalarType outDtype);
// silu(gate) · up; gate and up of one shape and dtype.
at::Tensor swiglu(const at::Tensor& gate, const at::Tensor& up);
// x: [batch, t, heads, headDim]; cos, sin: [t, headDim] float32 (Hugging Face's rotate-half convention).
at::Tensor rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace maskmix
