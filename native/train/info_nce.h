// Retrieval embeddings and the contrastive loss that fine-tunes a language model for retrieval (paper §6.3):
// a sequence's embedding is the final hidden state of one of its last tokens (sequences are left-padded, so that
// position holds real text for every length), and InfoNCE compares a query with its match and negatives by
// temperature-scaled cosine similarity.
#pragma once

#include <ATen/ATen.h>

#include "models/language_model.h"

namespace maskmix {

struct InfoNceOptions {
  int64_t group = 32;         // sequences per sample: query, match, group-2 negatives (paper: 1 + 1 + 30)
  double temperature = 0.02;  // τ in exp(cos/τ)
  int64_t fromEnd = 2;        // embedding token: 1 = last, 2 = second-to-last (the paper's; the mixer's last row is untrained)
};

// [batch, d] final hidden states at position t - fromEnd of tokens [batch, t], in the model's compute dtype.
at::Tensor sequenceEmbeddings(LanguageModel& model, const at::Tensor& tokens, int64_t fromEnd);

// Mean over samples of -log softmax_j(cos(q, c_j) / τ)[match] for embeddings [samples·group, d] laid out sample
// after sample as (query, match, negatives…). Computed in float32 (float64 for a float64 model).
at::Tensor infoNceLoss(const at::Tensor& embeddings, int64_t group, double temperature);

// The InfoNCE loss of a token batch [samples·group, t] through the model; checks the options and the shape.
at::Tensor contrastiveLoss(LanguageModel& model, const at::Tensor& tokens, const InfoNceOptions& options);

// "last" → 1, "second-to-last" → 2; anything else fails with CONFIG_INVALID.
int64_t embeddingFromEnd(const std::string& token);

// Fails with CONFIG_INVALID unless group ≥ 2, temperature > 0 and fromEnd ≥ 1.
void checkInfoNceOptions(const InfoNceOptions& options);

}  // namespace maskmix
