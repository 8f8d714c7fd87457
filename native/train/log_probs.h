// Log-probabilities of each actual next token, for scoring text.
#pragma once

#include <ATen/ATen.h>

namespace maskmix {

// log p(tokens[:, i+offset] | position i) for every i, from logits [batch, t, vocab]: [batch, t-offset] float32.
// offset 1: the next token (language models); 0: the token itself (autoencoders, LanguageModel::targetOffset).
at::Tensor nextTokenLogProbs(const at::Tensor& logits, const at::Tensor& tokens, int64_t offset = 1);

}  // namespace maskmix
