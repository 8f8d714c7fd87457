#include "models/autoencoder.h"

#include "common/error.h"
#include "models/masked_mixer.h"

namespace maskmix {

MixerAutoencoderLM::MixerAutoencoderLM(const ModelConfig& config) : LanguageModel(config) {
  require(config.variant == "plain" || config.variant == "memory", "an autoencoder's variant must be 'plain' or 'memory'", "CONFIG_INVALID");
  memory_ = config.variant == "memory";
  wte = register_module("wte", torch::nn::Embedding(config.vocabSize, config.dModel));
  encoder = register_module("encoder", torch::nn::ModuleList());
  decoder = register_module("decoder", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.nLayers; ++i) encoder->push_back(MixerBlock(config.dModel, config.context, config.ffMultiplier, config.fused));
  for (int64_t i = 0; i < config.nLayers; ++i) decoder->push_back(MixerBlock(config.dModel, config.context, config.ffMultiplier, config.fused));
  lm_head = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(config.dModel, config.vocabSize).bias(false)));
}

at::Tensor MixerAutoencoderLM::encode(const at::Tensor& tokens) {
  at::Tensor x = wte->forward(tokens.t());  // token-major [t, b, d], as the masked mixer
  for (const auto& block : *encoder) x = block->as<MixerBlock>()->forward(x);
  return x.select(0, x.size(0) - 1);
}

LanguageModel::Hidden MixerAutoencoderLM::hiddenStates(const at::Tensor& tokens) {
  const int64_t t = tokens.size(1);
  at::Tensor embedding = encode(tokens);  // [b, d]
  at::Tensor x;
  if (memory_) {
    at::Tensor shifted = wte->forward(tokens.t().narrow(0, 0, t - 1));  // tokens 0 … t−2 at positions 1 … t−1
    x = at::cat({embedding.unsqueeze(0), shifted}, 0);
  } else {
    x = embedding.unsqueeze(0).expand({t, embedding.size(0), embedding.size(1)}).contiguous();
  }
  for (const auto& block : *decoder) x = block->as<MixerBlock>()->forward(x);
  return {x, true};
}

void MixerAutoencoderLM::afterLoad() {
  for (const auto* stack : {&encoder, &decoder})
    for (const auto& block : **stack) block->as<MixerBlock>()->conv->zeroMaskedEntries();
}

}  // namespace maskmix
