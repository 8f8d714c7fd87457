#include "models/autoencoder.h"

#include "common/error.h"
#include "common/torch_compat.h"
#include "models/masked_mixer.h"
#include "ops/llama_ops.h"

namespace maskmix {

LlamaStackImpl::LlamaStackImpl(const ModelConfig& config, bool positions) : config_(config) {
  if (positions) embed_positions = register_module("embed_positions", torch::nn::Embedding(config.context, config.dModel));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.nLayers; ++i) layers->push_back(LlamaDecoderLayer(config));
  norm = register_module("norm", RMSNorm(config.dModel, config.normEps));
}

at::Tensor LlamaStackImpl::forward(const at::Tensor& input) {
  const int64_t t = input.size(1);
  at::Tensor x = !embed_positions.is_empty() ? input + embed_positions->weight.narrow(0, 0, t) : input;
  auto [cos, sin] = rotaryTables(t, config_.dModel / config_.nHeads, config_.ropeTheta, x.options());
  // The layers and final norm as LlamaLM runs them.
  return runLlamaLayers(*layers, static_cast<int64_t>(layers->size()), x, cos, sin, norm.get(), config_.fused, config_.normEps);
}

MixerAutoencoderLM::MixerAutoencoderLM(const ModelConfig& config) : LanguageModel(config) {
  require(config.variant == "plain" || config.variant == "memory", "an autoencoder's variant must be 'plain' or 'memory'", "CONFIG_INVALID");
  require(config.blocks == "mixer" || config.blocks == "llama", "an autoencoder's blocks must be 'mixer' or 'llama'", "CONFIG_INVALID");
  memory_ = config.variant == "memory";
  llama_ = config.blocks == "llama";
  wte = register_module("wte", torch::nn::Embedding(config.vocabSize, config.dModel));
  if (llama_) {
    require(config.nHeads > 0 && config.dModel % config.nHeads == 0 && (config.dModel / config.nHeads) % 2 == 0,
            "llama blocks need nHeads dividing dModel into heads of even width", "CONFIG_INVALID");
    llamaEncoder = register_module("encoder", LlamaStack(config, false));
    llamaDecoder = register_module("decoder", LlamaStack(config, !memory_));
    lm_head = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(config.dModel, config.vocabSize).bias(false)));
    // As LlamaLM: N(0, 0.02) for every weight but the norms, which start at 1.
    torch::NoGradGuard noGrad;
    for (auto& item : named_parameters(true))
      if (item.key().find("norm") == std::string::npos) item.value().normal_(0.0, 0.02);
    return;
  }
  encoder = register_module("encoder", torch::nn::ModuleList());
  decoder = register_module("decoder", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.nLayers; ++i) encoder->push_back(MixerBlock(config.dModel, config.context, config.ffMultiplier, config.fused));
  for (int64_t i = 0; i < config.nLayers; ++i) decoder->push_back(MixerBlock(config.dModel, config.context, config.ffMultiplier, config.fused));
  lm_head = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(config.dModel, config.vocabSize).bias(false)));
}

at::Tensor MixerAutoencoderLM::encode(const at::Tensor& tokens) {
  if (llama_) {
    at::Tensor x = llamaEncoder->forward(wte->forward(tokens));  // batch-major [b, t, d]
    return x.select(1, x.size(1) - 1);
  }
  at::Tensor x = wte->forward(tokens.t());  // token-major [t, b, d], as the masked mixer
  for (const auto& block : *encoder) x = block->as<MixerBlock>()->forward(x);
  return x.select(0, x.size(0) - 1);
}

LanguageModel::Hidden MixerAutoencoderLM::hiddenStates(const at::Tensor& tokens) {
  const int64_t t = tokens.size(1);
  at::Tensor embedding = encode(tokens);  // [b, d]
  if (llama_) {
    // The same two inputs as the mixer decoder's, batch-major. The embedding (the final norm's output, in the
    // autocast dtype on GPUs) joins the residual stream in the embedding table's dtype.
    at::Tensor first = embedding.unsqueeze(1).to(wte->weight.scalar_type());
    at::Tensor x = memory_ ? at::cat({first, wte->forward(tokens.narrow(1, 0, t - 1))}, 1) : first.expand({embedding.size(0), t, embedding.size(1)});
    return {llamaDecoder->forward(x), false};
  }
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
  if (llama_) return;  // no masked entries
  for (const auto* stack : {&encoder, &decoder})
    for (const auto& block : **stack) block->as<MixerBlock>()->conv->zeroMaskedEntries();
}

}  // namespace maskmix
