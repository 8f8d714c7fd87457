#include "models/structured_block_model.h"

namespace maskmix {

StructuredBlockModel::StructuredBlockModel(const ModelConfig& config, const std::function<std::shared_ptr<StructuredBlockImpl>()>& makeBlock)
    : LanguageModel(config) {
  wte = register_module("wte", torch::nn::Embedding(config.vocabSize, config.dModel));
  mixerblocks = register_module("mixerblocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.nLayers; ++i) mixerblocks->push_back(makeBlock());
  lm_head = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(config.dModel, config.vocabSize).bias(false)));
}

LanguageModel::Hidden StructuredBlockModel::hiddenStates(const at::Tensor& tokens) {
  at::Tensor x = wte->forward(tokens.t());  // token-major, as the masked mixer
  for (size_t i = 0; i < mixerblocks->size(); ++i) x = block(i).forward(x);
  return {x, true};
}

MixingStates StructuredBlockModel::newMixingStates(int64_t /*batch: the states take it from the first chunk*/) {
  MixingStates states;
  for (size_t i = 0; i < mixerblocks->size(); ++i) states.push_back(newState(block(i)));
  return states;
}

LanguageModel::Hidden StructuredBlockModel::decodeHidden(const at::Tensor& tokens, MixingStates& states) {
  at::Tensor x = wte->forward(tokens.t());
  for (size_t i = 0; i < mixerblocks->size(); ++i) x = block(i).forward(x, states.at(i).get());
  return {x, true};
}

LanguageModel::Hidden StructuredBlockModel::decodeStepOnDevice(const at::Tensor& tokens, MixingStates& states, const at::Tensor& position) {
  for (const auto& state : states)
    if (!state->canStepOnDevice()) return {};
  at::Tensor x = wte->forward(tokens.t());
  for (size_t i = 0; i < mixerblocks->size(); ++i) x = block(i).forward(x, states.at(i).get(), position);
  return {x, true};
}

}  // namespace maskmix
