#include "train/causal_lm_loss.h"

#include "common/error.h"

namespace maskmix {

LossResult causalLmLoss(const at::Tensor& logits, const at::Tensor& tokens, int64_t padId) {
  int64_t t = tokens.size(1);
  require(t >= 2, "a sequence needs at least 2 tokens to have a next-token target", "SHAPE_MISMATCH");
  int64_t vocab = logits.size(-1);
  at::Tensor predictions = logits.narrow(1, 0, t - 1).reshape({-1, vocab});
  at::Tensor targets = tokens.narrow(1, 1, t - 1).reshape({-1});
  int64_t counted = targets.ne(padId).sum().item<int64_t>();
  require(counted > 0, "the batch has no target tokens (every target is the pad id)", "INVALID_ARGUMENT");
  at::Tensor loss = at::cross_entropy_loss(predictions.to(at::kFloat), targets, /*weight=*/{}, at::Reduction::Mean, padId);
  return {loss, counted};
}

at::Tensor nextTokenLogProbs(const at::Tensor& logits, const at::Tensor& tokens) {
  int64_t t = tokens.size(1);
  at::Tensor logp = at::log_softmax(logits.narrow(1, 0, t - 1).to(at::kFloat), -1);
  return logp.gather(-1, tokens.narrow(1, 1, t - 1).unsqueeze(-1)).squeeze(-1);
}

}  // namespace maskmix
