// The greedy step of a column/row/mixed repeat mixer at small batch (≤ 4, and batch·width·4 B ≤ 40 KiB for the
// feed-forward width: batch ≤ 2 at d1024) as maskmix's own kernels
// (kernels/repeat_decode.cu): embed, four GEMV kernels per layer with the elementwise work in their prologues and
// epilogues, the output projection with a fused argmax, and a finishing kernel: 4·L + 3 launches per token where
// libtorch's modules take ~20 per layer. GraphedGreedyStep captures it in its CUDA graph in place of the generic
// step when the model qualifies, unless MASKMIX_FUSED_DECODE=0 is set (the generic graph, for comparison). Their
// check, scripts/gpu/check-graphed-decoding.mjs, passed on an H200 (2026-12-05): in float32 the same greedy tokens as
// the step loop and as the generic graph for every qualifying structure.
#pragma once

#include <ATen/ATen.h>

#include <memory>

#include "decode/mixing_state.h"
#include "models/language_model.h"

namespace maskmix {

class FusedRepeatStep {
 public:
  // A step for this model and these states at `batch`, or null when they do not qualify (another kind or
  // structure, a batch or width the kernels do not take, float64 weights, a CPU build). bf16Weights: read bf16
  // copies of the matrices (made here, once), else the float32 parameters themselves. tokens [batch, 1] and
  // position [1] (int64) are what the step reads and advances; history [batch, context] gets each chosen token.
  static std::unique_ptr<FusedRepeatStep> tryBuild(LanguageModel& model, MixingStates& states, int64_t batch, bool bf16Weights,
                                                   const at::Tensor& tokens, const at::Tensor& position, const at::Tensor& history);
  virtual ~FusedRepeatStep() = default;
  // Queues one step on the current CUDA stream (capturable).
  virtual void launch() = 0;
};

}  // namespace maskmix
