#include "train/log_probs.h"

namespace maskmix {

at::Tensor nextTokenLogProbs(const at::Tensor& logits, const at::Tensor& tokens) {
  int64_t t = tokens.size(1);
  at::Tensor logp = at::log_softmax(logits.narrow(1, 0, t - 1).to(at::kFloat), -1);
  return logp.gather(-1, tokens.narrow(1, 1, t - 1).unsqueeze(-1)).squeeze(-1);
}

}  // namespace maskmix
