// Next-token cross-entropy: logits at position t are scored against token t+1, targets equal to padId ignored.
#pragma once

#include <ATen/ATen.h>

namespace maskmix {

struct LossResult {
  at::Tensor loss;     // scalar, mean over counted targets
  int64_t targets = 0; // how many targets were counted
};

LossResult causalLmLoss(const at::Tensor& logits, const at::Tensor& tokens, int64_t padId);

// log p(tokens[:, i+1] | tokens[:, ..i]) for every i: [batch, t-1] float32 (pad targets included, not masked).
at::Tensor nextTokenLogProbs(const at::Tensor& logits, const at::Tensor& tokens);

}  // namespace maskmix
