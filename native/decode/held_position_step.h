// One greedy decoding step at a position held in a device tensor: the step a CUDA graph captures
// (decode/graphed_greedy_step.h) and, on the CPU, the greedy loop runs eagerly, so both devices run the same code.
#pragma once

#include <ATen/ATen.h>

#include "decode/mixing_state.h"
#include "models/language_model.h"

namespace maskmix {

// Feeds tokens [batch, 1] at position [1] (int64) through every layer's MixingState::stepOnDevice, then writes the
// argmax of the logits into history[:, position] ([batch, context]) and into tokens (the next input), and moves
// position on by one. Reads and writes only these tensors and the states, in place. The states must all
// canStepOnDevice() and have been prepared (prepareStepOnDevice).
void greedyStepAtHeldPosition(LanguageModel& model, CachedDecoding& decoding, MixingStates& states, const at::Tensor& tokens,
                              const at::Tensor& position, const at::Tensor& history);

}  // namespace maskmix
