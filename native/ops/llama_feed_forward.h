// The Llama feed-forward half as one autograd function: x + down(silu(gate(h)) · up(h)), h = RMSNorm(x)·w.
// It saves only x, the norm's rstd, the weights in the compute dtype and the gate and up pre-activations; backward
// recomputes h and silu(gate)·up (one norm pass and one elementwise pass). Against the same half built from the
// fused RMSNorm and SwiGLU functions plus Linear modules, that drops the saved h (bf16, d wide) and the saved
// SwiGLU output (bf16, intermediate wide) per layer: at the bench size (b32 n512 d512, intermediate 2048) 16 MiB
// + 64 MiB = 80 MiB of the half's 240 MiB, 1.25 GiB over 16 layers (counted from the tensor sizes;
// with the attention half, the bench's peak fell from 6.80 to 5.38 GiB but the step slowed by 6 %, 28.11 → 29.82 ms
// in one H100 run, so models use it only with MASKMIX_LLAMA_RECOMPUTE=1). Products run in the autocast dtype, the residual stream and parameter gradients stay in
// the master dtype, as PyTorch's autocast would.
#pragma once

#include <ATen/ATen.h>

namespace maskmix {

// x: [..., d]; normWeight: [d]; gateWeight, upWeight: [f, d]; downWeight: [d, f].
at::Tensor llamaFeedForward(const at::Tensor& x, const at::Tensor& normWeight, double eps, const at::Tensor& gateWeight,
                            const at::Tensor& upWeight, const at::Tensor& downWeight);

}  // namespace maskmix
