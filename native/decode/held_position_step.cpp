#include "decode/held_position_step.h"

#include "common/error.h"

namespace maskmix {

void greedyStepAtHeldPosition(LanguageModel& model, CachedDecoding& decoding, MixingStates& states, const at::Tensor& tokens,
                              const at::Tensor& position, const at::Tensor& history) {
  LanguageModel::Hidden h = decoding.decodeStepOnDevice(tokens, states, position);
  require(h.states.defined(), "this model's decoding states cannot step at a device-held position", "INTERNAL");
  at::Tensor last = h.tokenMajor ? h.states.select(0, 0) : h.states.select(1, 0);  // [batch, d]
  at::Tensor next = at::linear(last, model.outputWeight()).argmax(-1);                 // [batch]
  history.index_copy_(1, position, next.unsqueeze(1));
  tokens.copy_(next.unsqueeze(1));
  position.add_(1);
}

}  // namespace maskmix
