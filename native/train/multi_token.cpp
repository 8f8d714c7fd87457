#include "train/multi_token.h"

#include "common/error.h"
#include "train/trainer.h"

namespace maskmix {

std::vector<LinearCrossEntropy> multiTokenLosses(LanguageModel& model, const at::Tensor& tokens) {
  int64_t t = tokens.size(1);
  require(t >= 2, "a sequence needs at least 2 tokens to have a next-token target", "SHAPE_MISMATCH");
  LanguageModel::Hidden h = model.hiddenStates(tokens);
  int64_t d = h.states.size(2);
  int64_t axis = h.tokenMajor ? 0 : 1;
  at::Tensor byPosition = h.tokenMajor ? tokens.t() : tokens;  // targets in the hidden states' layout
  std::vector<LinearCrossEntropy> losses;
  for (int64_t offset = 1; offset <= model.config().predictTokens && offset < t; ++offset) {
    at::Tensor predictors = model.offsetHidden(h.states.narrow(axis, 0, t - offset), offset).reshape({-1, d});
    at::Tensor targets = byPosition.narrow(axis, offset, t - offset).reshape({-1});
    losses.push_back(linearCrossEntropy(predictors, model.outputWeight(), targets, model.config().padId));
  }
  return losses;
}

LinearCrossEntropy trainingLoss(LanguageModel& model, const at::Tensor& tokens, const at::Tensor& targets) {
  if (model.config().predictTokens == 1) return nextTokenLoss(model, tokens, targets);
  require(!targets.defined(), "a target mask cannot be combined with multi-token prediction (predictTokens > 1)", "INVALID_ARGUMENT");
  require(model.targetOffset() == 1, "multi-token prediction needs a next-token model, not an autoencoder", "CONFIG_INVALID");
  std::vector<LinearCrossEntropy> losses = multiTokenLosses(model, tokens);
  LinearCrossEntropy total = losses.front();
  for (size_t i = 1; i < losses.size(); ++i) total.loss = total.loss + losses[i].loss;
  return total;
}

}  // namespace maskmix
