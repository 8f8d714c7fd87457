// Greedy decoding by CUDA-graph replay, for models whose decoding states can step at a position held on the device
// (MixingState::stepOnDevice: the repeat mixers' running sums). One whole step — embed the fed token, every
// layer's step, the output projection, argmax, the argmax written back as the next input and into a token
// history — is captured once; every later token is one replay (the fused kernels: a chain of several steps per
// replay): no per-kernel launch cost, no host round trip.
// At batch 1 that is what stands between an eager step (~2 ms of launches) and the weights' bandwidth bound.
// Under bf16 autocast the Linear layers are captured reading bf16 copies of their weights, made once, so replays
// do not re-cast fp32 weights every token. Those copies are a snapshot: when any parameter changes (its version
// counter moves), stillValid() says so and the decoder captures again.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "decode/mixing_state.h"
#include "models/language_model.h"

namespace maskmix {

class GraphedGreedyStep {
 public:
  // Captures one step for `states` (which must all canStepOnDevice()) at batch `batch`. autocast: bf16 autocast
  // with bf16 weight copies; else the model's own dtype. int8Weights: where the step runs as maskmix's own kernels,
  // they read int8 copies of the matrices with a scale per row (decode/quantized_rows.h); the generic graph ignores it.
  GraphedGreedyStep(LanguageModel& model, CachedDecoding& decoding, MixingStates& states, int64_t batch, bool autocast, bool int8Weights);
  ~GraphedGreedyStep();
  GraphedGreedyStep(const GraphedGreedyStep&) = delete;
  GraphedGreedyStep& operator=(const GraphedGreedyStep&) = delete;

  // Feeds first [batch] (int64, on the model's device) at host position `position`, then the argmax after each
  // step, `count` steps in all → the tokens chosen after each, [batch, count] int64 on the device. The states
  // end advanced by `count` positions on the device (their host bookkeeping is the caller's: advancedOnDevice).
  at::Tensor run(const at::Tensor& first, int64_t position, int64_t count);

  // False once a parameter changed since capture (training, a loaded state dict): capture again.
  bool stillValid(LanguageModel& model) const;

  // Whether the captured step is maskmix's own decoding kernels (decode/fused_repeat_step.h) rather than the
  // model's libtorch modules.
  bool fused() const;
  // Whether that step reads int8 weights.
  bool int8Weights() const;
  // Whether its bf16 products run on tensor cores (FusedRepeatStep::tensorCores).
  bool tensorCores() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether this build can capture CUDA graphs (a CUDA build).
bool graphedDecodingBuilt();

}  // namespace maskmix
