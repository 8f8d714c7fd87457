// Multi-token prediction (paper §5.2, ModelConfig::predictTokens): one hidden state predicts the next k tokens,
// offset 1 through the output projection as usual, offset o > 1 through head o−2 and the same projection.
#pragma once

#include <vector>

#include "models/language_model.h"
#include "train/linear_cross_entropy.h"

namespace maskmix {

// The loss at each offset 1 … predictTokens (offset o: position t's prediction against token t+o, pad targets
// ignored); offsets that leave no position in a sequence of this length are left out.
std::vector<LinearCrossEntropy> multiTokenLosses(LanguageModel& model, const at::Tensor& tokens);

// What the trainer minimises: the next-token loss (against `targets` instead of the tokens themselves when given:
// Trainer.step's target mask), or, with predictTokens > 1, the sum of the per-offset losses.
LinearCrossEntropy trainingLoss(LanguageModel& model, const at::Tensor& tokens, const at::Tensor& targets = at::Tensor());

}  // namespace maskmix
