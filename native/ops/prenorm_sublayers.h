// The two halves of a masked mixer block as single autograd functions:
//   mixSublayer:         x + Mix(LayerNorm(x))
//   feedForwardSublayer: x + W2·GELU(W1·LayerNorm(x) + b1) + b2
// Each saves only its input, the LayerNorm statistics and (feed-forward) the GELU pre-activation; the normalised
// input and the GELU output are recomputed in backward. That trades two cheap elementwise passes for two
// activations of the block (the largest share of training memory), and lets every product run in the autocast
// dtype with the residual stream kept in the input's dtype (float32), as PyTorch's autocast would.
#pragma once

#include <ATen/ATen.h>

namespace maskmix {

// x: token-major [t, b, d]; mixWeight: [t, t] (lower triangle used; all of it when !causal, the unmasked mixing
// of the indirect retrieval model); mixBias: [t].
at::Tensor mixSublayer(const at::Tensor& x, const at::Tensor& lnWeight, const at::Tensor& lnBias, double eps,
                       const at::Tensor& mixWeight, const at::Tensor& mixBias, bool causal = true);

// x: [..., d]; w1: [f, d], b1: [f]; w2: [d, f], b2: [d].
at::Tensor feedForwardSublayer(const at::Tensor& x, const at::Tensor& lnWeight, const at::Tensor& lnBias, double eps,
                               const at::Tensor& w1, const at::Tensor& b1, const at::Tensor& w2, const at::Tensor& b2);

// The residual stream between sublayers that defer their residual adds: the float32 stream and the last
// sublayer's output not yet added to it (undefined before the first sublayer). stream + pending is the x above.
struct DeferredResidual {
  at::Tensor stream, pending;
};

// The same sublayers on a deferred residual: each adds `pending` inside its LayerNorm kernel (writing the new
// stream) and returns its own output, in the compute dtype, as the next pending. In backward the output's gradient
// then arrives already in the compute dtype, and pending's is written by the LayerNorm backward in the same pass
// that adds the stream's gradient: no separate add, gradient accumulation or cast per sublayer.
DeferredResidual mixSublayer(const DeferredResidual& in, const at::Tensor& lnWeight, const at::Tensor& lnBias, double eps,
                             const at::Tensor& mixWeight, const at::Tensor& mixBias, bool causal = true);
DeferredResidual feedForwardSublayer(const DeferredResidual& in, const at::Tensor& lnWeight, const at::Tensor& lnBias, double eps,
                                     const at::Tensor& w1, const at::Tensor& b1, const at::Tensor& w2, const at::Tensor& b2);

}  // namespace maskmix
