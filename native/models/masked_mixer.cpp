#include "models/masked_mixer.h"

#include <torch/utils.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>

#include <cmath>

#include "ops/masked_mixing.h"
#include "ops/prenorm_sublayers.h"

namespace maskmix {

MaskedConvImpl::MaskedConvImpl(int64_t context) {
  // PyTorch's Conv1d default: U(±1/√fan_in) with fan_in = in_channels·kernel = n.
  double bound = 1.0 / std::sqrt(static_cast<double>(context));
  weight = register_parameter("weight", torch::empty({context, context, 1}).uniform_(-bound, bound));
  bias = register_parameter("bias", torch::empty({context}).uniform_(-bound, bound));
  zeroMaskedEntries();
}

at::Tensor MaskedConvImpl::forward(const at::Tensor& x) {
  int64_t t = x.size(0);
  at::Tensor w = weight.select(2, 0).narrow(0, 0, t).narrow(1, 0, t);
  return maskedMixing(x, w, bias.narrow(0, 0, t));
}

void MaskedConvImpl::zeroMaskedEntries() {
  torch::NoGradGuard noGrad;
  at::Tensor w = weight.select(2, 0);
  w.copy_(w.tril());
}

MixerBlockImpl::MixerBlockImpl(int64_t dModel, int64_t context, int64_t ffMultiplier, bool fused) : fused_(fused) {
  seq_layernorm = register_module("seq_layernorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dModel})));
  conv = register_module("conv", MaskedConv(context));
  patch_layernorm = register_module("patch_layernorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dModel})));
  patch_ff = register_module("patch_ff", torch::nn::Sequential(torch::nn::Linear(dModel, ffMultiplier * dModel), torch::nn::GELU(),
                                                               torch::nn::Linear(ffMultiplier * dModel, dModel)));
}

at::Tensor MixerBlockImpl::forward(const at::Tensor& input) {
  if (fused_) {
    int64_t t = input.size(0);
    auto& ln1 = seq_layernorm->options;
    at::Tensor x = mixSublayer(input, seq_layernorm->weight, seq_layernorm->bias, ln1.eps(),
                               conv->weight.select(2, 0).narrow(0, 0, t).narrow(1, 0, t), conv->bias.narrow(0, 0, t));
    return feedForward(x);
  }
  // The same block through separate modules and libtorch's own autograd: the reference the fused path is
  // tested against.
  return feedForward(input + conv->forward(seq_layernorm->forward(input)));
}

at::Tensor MixerBlockImpl::feedForward(const at::Tensor& x) {
  if (fused_) {
    auto* up = (*patch_ff)[0]->as<torch::nn::Linear>();
    auto* down = (*patch_ff)[2]->as<torch::nn::Linear>();
    return feedForwardSublayer(x, patch_layernorm->weight, patch_layernorm->bias, patch_layernorm->options.eps(), up->weight, up->bias,
                               down->weight, down->bias);
  }
  return x + patch_ff->forward(patch_layernorm->forward(x));
}

at::Tensor MixerBlockImpl::decode(const at::Tensor& x, MixingState& state) {
  at::Tensor normed = seq_layernorm->forward(x);
  return feedForward(x + (x.size(0) == 1 ? state.step(normed) : state.prefill(normed)));
}

MaskedMixerLM::MaskedMixerLM(const ModelConfig& config) : LanguageModel(config) {
  wte = register_module("wte", torch::nn::Embedding(config.vocabSize, config.dModel));
  mixerblocks = register_module("mixerblocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.nLayers; ++i) mixerblocks->push_back(MixerBlock(config.dModel, config.context, config.ffMultiplier, config.fused));
  lm_head = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(config.dModel, config.vocabSize).bias(false)));
}

LanguageModel::Hidden MaskedMixerLM::hiddenStates(const at::Tensor& tokens) {
  // Token-major from the embedding on: every op but the mixing is per token, and the mixing becomes one GEMM.
  at::Tensor x = wte->forward(tokens.t());
  for (const auto& block : *mixerblocks) x = block->as<MixerBlock>()->forward(x);
  return {x, true};
}

void MaskedMixerLM::afterLoad() {
  for (const auto& block : *mixerblocks) block->as<MixerBlock>()->conv->zeroMaskedEntries();
}

}  // namespace maskmix
