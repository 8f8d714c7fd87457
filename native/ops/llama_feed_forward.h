// The Llama feed-forward half as one autograd function: x + down(silu(gate(h)) · up(h)), h = RMSNorm(x)·w.
// It saves only x, the norm's rstd, the weights in the compute dtype and the gate and up pre-activations; backward
// recomputes h and silu(gate)·up (one norm pass and one elementwise pass). Used only with MASKMIX_LLAMA_RECOMPUTE=1.
// When it was written, it saved 80 MiB a layer less than the default half at the bench size (b32 n512 d512,
// intermediate 2048): the default then kept the norm's float32 input and the SwiGLU output. With the attention half,
// the bench's peak fell from 6.80 to 5.38 GiB, but the step slowed by 6 % (28.11 → 29.82 ms in one H100 run). The
// default half now keeps the norm's bf16 output instead (16 MiB against this function's 32 MiB float32 x) and does
// not save the SwiGLU output (swigluDown in ops/llama_ops.h), so this function no longer saves memory by tensor-size
// count. Products run in the autocast dtype; the residual stream and parameter gradients stay in the master dtype,
// as PyTorch's autocast would.
#pragma once

#include <ATen/ATen.h>

namespace maskmix {

// x: [..., d]; normWeight: [d]; gateWeight, upWeight: [f, d]; downWeight: [d, f].
at::Tensor llamaFeedForward(const at::Tensor& x, const at::Tensor& normWeight, double eps, const at::Tensor& gateWeight,
                            const at::Tensor& upWeight, const at::Tensor& downWeight);

}  // namespace maskmix
