// Fused pieces of the Llama baseline, each one autograd function: RMSNorm (writes its output directly in the
// compute dtype and saves only rstd), SwiGLU's silu(gate)·up with the down projection, and rotary positions. On CUDA
// they run maskmix's own kernels (native/kernels); elsewhere, or for shapes the kernels do not take, the same math in
// libtorch ops.
#pragma once

#include <ATen/ATen.h>

#include <optional>

namespace maskmix {

// x: [..., d]; weight: [d]. Output in `outDtype`.
at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps, at::ScalarType outDtype);
// The residual add before a norm and the norm as one function: (sum, norm) = (x + delta, rmsNorm(x + delta)), x the
// float32 residual stream and delta a sublayer's output (any float dtype). Its backward adds the residual stream's
// gradient inside the norm's backward kernel and writes delta's gradient in delta's dtype in the same pass.
std::pair<at::Tensor, at::Tensor> residualRmsNorm(const at::Tensor& x, const at::Tensor& delta, const at::Tensor& weight, double eps,
                                                  at::ScalarType outDtype);
// down(silu(gate) · up) = (silu(gate) · up) · downWeightᵀ, gate and up [rows, f] of one shape and dtype, downWeight
// [d, f] (cast to gate's dtype, its gradient returned in its own). It saves gate and up but not their product (the
// largest activation of a Llama layer after them: f wide): the backward's SwiGLU kernel writes the product again
// beside the gate and up gradients, for down's weight gradient. A saved product would cost 64 MiB a layer at the bench
// size (b32 n512, f 2048, bf16); writing it again costs one f-wide write in backward.
at::Tensor swigluDown(const at::Tensor& gate, const at::Tensor& up, const at::Tensor& downWeight);
// x: [batch, t, heads, headDim]; cos, sin: [t, headDim] float32 (Hugging Face's rotate-half convention).
at::Tensor rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

// The same math without autograd, the pieces of the autograd functions above. Kernels where they take the tensors,
// libtorch ops otherwise, as above.
struct RmsNormOutput {
  at::Tensor y;      // x's shape, outDtype
  at::Tensor rstd;   // [rows]: float32, float64 for float64 input
  at::Tensor input;  // what was normalised: x, or x + delta when a delta was given
  bool kernel = false;  // made by maskmix's kernel: its backward can work from y (rmsNormBackward's fromOutput)
};
// With delta (a sublayer's output not yet added to the residual stream x; undefined for none) the rows normalised
// are x + delta, formed inside the kernel.
RmsNormOutput rmsNormForward(const at::Tensor& x, const at::Tensor& weight, double eps, at::ScalarType outDtype,
                             const at::Tensor& delta = {});
struct RmsNormGradients {
  at::Tensor x;       // d/dx + residualGrad, in x's dtype
  at::Tensor xCopy;   // the same in copyDtype when one was asked for (a deferred delta's gradient), else undefined
  at::Tensor weight;  // in weight's dtype
};
// Gradients given d/dy in any float dtype (undefined: zero); residualGrad (may be undefined) is added to d/dx in the
// same pass. `saved` (contiguous) is the normalised input x, or with fromOutput the forward's output y, from which
// the backward recovers x̂ = y/w: what the saving autograd functions keep when the kernel made y (the compute-dtype
// tensor the next product keeps anyway), so the float32 residual stream is not kept for the norm. x̂ then has y's
// precision (bf16: 2⁻⁹ relative). `inputDtype`: x's dtype, that of the gradient returned.
RmsNormGradients rmsNormBackward(const at::Tensor& gradY, const at::Tensor& saved, bool fromOutput, at::ScalarType inputDtype,
                                 const at::Tensor& weight, const at::Tensor& rstd, const at::Tensor& residualGrad = {},
                                 std::optional<at::ScalarType> copyDtype = std::nullopt);
// Whether the saving RMSNorm functions keep the output (the default, when the kernel made it) or the input
// (MASKMIX_RMSNORM_SAVES=input, to measure one against the other).
bool rmsNormKeepsOutput(const RmsNormOutput& forward);
// x [batch, t, heads, headDim] rotated by +angle, or by −angle when inverse (its transpose: the backward).
at::Tensor rotaryRotate(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, bool inverse);
// silu(gate) · up, and its gradients (d/dgate, d/dup) given d/dout; all contiguous, of one dtype.
at::Tensor swigluProduct(const at::Tensor& gate, const at::Tensor& up);
struct SwigluGradients {
  at::Tensor gate, up;
  at::Tensor product;  // silu(gate) · up when asked for (withProduct), else undefined
};
SwigluGradients swigluGradients(const at::Tensor& gradOut, const at::Tensor& gate, const at::Tensor& up, bool withProduct = false);

}  // namespace maskmix
