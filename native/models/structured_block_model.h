// The language model the structured mixers share: embedding → nLayers StructuredBlocks → output projection, with
// the per-layer decoding-state plumbing. A kind supplies its blocks (their token mixing) and one layer's decoding
// state. Parameter names: wte → mixerblocks.i.* (models/structured_block.h) → lm_head, registered in that order.
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <functional>
#include <memory>

#include "decode/mixing_state.h"
#include "models/language_model.h"
#include "models/structured_block.h"

namespace maskmix {

class StructuredBlockModel : public LanguageModel, public CachedDecoding {
 public:
  Hidden hiddenStates(const at::Tensor& tokens) override;
  at::Tensor outputWeight() override { return lm_head->weight; }

  MixingStates newMixingStates(int64_t batch) override;
  Hidden decodeHidden(const at::Tensor& tokens, MixingStates& states) override;
  // Only where every layer's state can step at a device-held position; undefined otherwise.
  Hidden decodeStepOnDevice(const at::Tensor& tokens, MixingStates& states, const at::Tensor& position) override;

  // For decoding paths that read the weights directly (decode/fused_repeat_step.h).
  const torch::nn::Embedding& embedding() const { return wte; }
  const torch::nn::ModuleList& blocks() const { return mixerblocks; }
  const torch::nn::Linear& head() const { return lm_head; }

 protected:
  // makeBlock builds one block; it is called nLayers times, between the embedding and the output projection.
  StructuredBlockModel(const ModelConfig& config, const std::function<std::shared_ptr<StructuredBlockImpl>()>& makeBlock);
  // A fresh decoding state (position 0) for one layer.
  virtual std::unique_ptr<MixingState> newState(StructuredBlockImpl& block) = 0;
  StructuredBlockImpl& block(size_t i) { return *(*mixerblocks)[i]->as<StructuredBlockImpl>(); }

  torch::nn::Embedding wte{nullptr};
  torch::nn::ModuleList mixerblocks{nullptr};
  torch::nn::Linear lm_head{nullptr};
};

}  // namespace maskmix
