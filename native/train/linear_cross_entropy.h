// Output projection and next-token cross-entropy in one op, computed in row chunks so the [tokens, vocab] logits
// never exist at once (the largest activation of a small-d, large-V model). Since the loss is the last op, its
// gradients are computed during the forward chunk by chunk and only scaled in backward.
#pragma once

#include <ATen/ATen.h>

namespace maskmix {

struct LinearCrossEntropy {
  at::Tensor loss;     // 0-dim float32: mean over targets != ignoreIndex
  at::Tensor targets;  // 0-dim int64: how many targets counted
};

// hidden: [N, d] (any float dtype); weight: [V, d]; targets: [N] int64. Under CUDA autocast the products run in
// the autocast dtype with float32 softmax; otherwise in hidden's dtype. Differentiable in hidden and weight.
LinearCrossEntropy linearCrossEntropy(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                      int64_t ignoreIndex, int64_t chunkRows = 0);

}  // namespace maskmix
