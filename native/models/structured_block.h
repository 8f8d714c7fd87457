// The block the structured mixers share (the repeat mixer, models/repeat_mixer.h; the linear mixer,
// models/linear_mixer.h): the flat masked mixer block — LN, token mixing, residual, LN, feed-forward, residual —
// whose token mixing is a StructuredMixing module. Parameter names: seq_layernorm, mix.*, patch_layernorm,
// patch_ff.{0,2}, registered in that order (the order of the initial weights' random draws and of the parameters).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/normalization.h>

#include <functional>
#include <memory>

#include "decode/mixing_state.h"
#include "models/model_config.h"

namespace maskmix {

// A token-mixing layer with a parallel form (this forward) and a recurrent form (its kind's MixingState).
class StructuredMixing : public torch::nn::Module {
 public:
  // x: token-major [t, b, d], positions 0 … t−1 → the mixing output [t, b, d], before the residual add.
  virtual at::Tensor forward(const at::Tensor& x) = 0;
};

class StructuredBlockImpl : public torch::nn::Module {
 public:
  // makeMixing builds the token mixing, registered as "mix" between the two LayerNorms.
  StructuredBlockImpl(const ModelConfig& config, const std::function<std::shared_ptr<StructuredMixing>()>& makeMixing);
  // x: token-major [m, b, d]. Without a state: positions 0 … m−1 in parallel; with one: the next m positions of
  // a decoding session; with a devicePosition too: one position, stepped through MixingState::stepOnDevice.
  at::Tensor forward(const at::Tensor& x, MixingState* state = nullptr, const at::Tensor& devicePosition = {});
  StructuredMixing& mixing() { return *mixing_; }

  torch::nn::LayerNorm seq_layernorm{nullptr};
  torch::nn::LayerNorm patch_layernorm{nullptr};
  torch::nn::Sequential patch_ff{nullptr};

 protected:
  std::shared_ptr<StructuredMixing> mixing_;

 private:
  bool fused_;
};

}  // namespace maskmix
