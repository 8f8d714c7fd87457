// Fused pieces of the Llama baseline, each one autograd function: RMSNorm (writes its output directly in the
// compute dtype and saves only rstd), SwiGLU's silu(gate)·up, and rotary positions. On CUDA they run maskmix's
// own kernels (native/kernels); elsewhere, or for shapes the kernels do not take, the same math in libtorch ops.
#pragma once

#include <ATen/ATen.h>

namespace maskmix {

// x: [..., d]; weight: [d]. Output in `outDtype`.
at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps, at::ScalarType outDtype);
// The residual add before a norm and the norm as one function: (sum, norm) = (x + delta, rmsNorm(x + delta)), x the
// float32 residual stream and delta a sublayer's output (any float dtype). Its backward adds the residual stream's
// gradient inside the norm's backward kernel and writes delta's gradient in delta's dtype in the same pass.
std::pair<at::Tensor, at::Tensor> residualRmsNorm(const at::Tensor& x, const at::Tensor& delta, const at::Tensor& weight, double eps,
                                                  at::ScalarType outDtype);
// silu(gate) · up; gate and up of one shape and dtype.
at::Tensor swiglu(const at::Tensor& gate, const at::Tensor& up);
// x: [batch, t, heads, headDim]; cos, sin: [t, headDim] float32 (Hugging Face's rotate-half convention).
at::Tensor rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

// The same math without autograd, for functions that save less and recompute in their backward
// (ops/llama_feed_forward.h). Kernels where they take the tensors, libtorch ops otherwise, as above.
struct RmsNormOutput {
  at::Tensor y;     // x's shape, outDtype
  at::Tensor rstd;  // [rows]: float32, float64 for float64 input
};
RmsNormOutput rmsNormForward(const at::Tensor& x, const at::Tensor& weight, double eps, at::ScalarType outDtype);
// The forward's output again, bit for bit, from x (contiguous) and the saved rstd.
at::Tensor rmsNormRecompute(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& rstd, double eps, at::ScalarType outDtype);
// (d/dx in x's dtype, d/dweight in weight's dtype) given d/dy in any float dtype; x contiguous.
std::pair<at::Tensor, at::Tensor> rmsNormBackward(const at::Tensor& gradY, const at::Tensor& x, const at::Tensor& weight,
                                                  const at::Tensor& rstd);
// residualRmsNorm without autograd: the forward's sum, normalised rows and rstd; the backward's gradients of x
// (float32: d/dsum of the norm + residualGrad, which may be undefined), delta (in deltaDtype) and weight.
struct ResidualRmsNormOutput {
  at::Tensor sum, y, rstd;
};
ResidualRmsNormOutput residualRmsNormForward(const at::Tensor& x, const at::Tensor& delta, const at::Tensor& weight, double eps,
                                             at::ScalarType outDtype);
struct ResidualRmsNormGradients {
  at::Tensor x, delta, weight;
};
ResidualRmsNormGradients residualRmsNormBackward(const at::Tensor& gradY, const at::Tensor& residualGrad, const at::Tensor& sum,
                                                 const at::Tensor& weight, const at::Tensor& rstd, at::ScalarType deltaDtype);
// x [batch, t, heads, headDim] rotated by +angle, or by −angle when inverse (its transpose: the backward).
at::Tensor rotaryRotate(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, bool inverse);
// silu(gate) · up, and its gradients (d/dgate, d/dup) given d/dout; all contiguous, of one dtype.
at::Tensor swigluProduct(const at::Tensor& gate, const at::Tensor& up);
std::pair<at::Tensor, at::Tensor> swigluGradients(const at::Tensor& gradOut, const at::Tensor& gate, const at::Tensor& up);

}  // namespace maskmix
