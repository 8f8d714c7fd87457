// Log-probabilities of each actual next token, for scoring text.
#pragma once

#include <ATen/ATen.h>

namespace maskmix {

// log p(tokens[:, i+1] | tokens[:, ..i]) for every i, from logits [batch, t, vocab]: [batch, t-1] float32.
at::Tensor nextTokenLogProbs(const at::Tensor& logits, const at::Tensor& tokens);

}  // namespace maskmix
