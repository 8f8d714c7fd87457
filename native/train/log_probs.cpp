#include "train/log_probs.h"

namespace maskmix {

at::Tensor nextTokenLogProbs(const at::Tensor& logits, const at::Tensor& tokens, int64_t offset) {
  int64_t rows = tokens.size(1) - offset;
  at::Tensor logp = at::log_softmax(logits.narrow(1, 0, rows).to(at::kFloat), -1);
  return logp.gather(-1, tokens.narrow(1, offset, rows).unsqueeze(-1)).squeeze(-1);
}

}  // namespace maskmix
