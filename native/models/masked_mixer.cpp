#include "models/masked_mixer.h"

#include <torch/utils.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>

#include <algorithm>
#include <cmath>

#include "ops/masked_mixing.h"
#include "common/error.h"
#include "ops/prenorm_sublayers.h"

namespace maskmix {

MaskedConvImpl::MaskedConvImpl(int64_t context) : MaskedConvImpl(context, context, 1, MixingMask::Causal, false) {}

MaskedConvImpl::MaskedConvImpl(int64_t rows, int64_t cols, int64_t kernel, MixingMask mask, bool softmax) : mask_(mask), softmax_(softmax) {
  // PyTorch's Conv1d default: U(±1/√fan_in) with fan_in = in_channels·kernel = n·k.
  double bound = 1.0 / std::sqrt(static_cast<double>(cols * kernel));
  weight = register_parameter("weight", torch::empty({rows, cols, kernel}).uniform_(-bound, bound));
  bias = register_parameter("bias", torch::empty({rows}).uniform_(-bound, bound));
  zeroMaskedEntries();
}

at::Tensor MaskedConvImpl::mix(const at::Tensor& x, int64_t rows) {
  at::Tensor taps = weight.narrow(0, 0, rows).narrow(1, 0, x.size(0)).permute({2, 0, 1});
  return maskedKernelMixing(x, maskedKernelMatrices(taps, mask_, softmax_), bias.narrow(0, 0, rows));
}

at::Tensor MaskedConvImpl::forward(const at::Tensor& x) {
  int64_t t = x.size(0);
  at::Tensor w = weight.select(2, 0).narrow(0, 0, t).narrow(1, 0, t);
  return maskedMixing(x, w, bias.narrow(0, 0, t));
}

void MaskedConvImpl::zeroMaskedEntries() {
  torch::NoGradGuard noGrad;
  if (weight.size(2) == 1 && mask_ == MixingMask::Causal) {
    at::Tensor w = weight.select(2, 0);
    w.copy_(w.tril());
    return;
  }
  at::Tensor taps = weight.permute({2, 0, 1});
  taps.copy_(maskedKernelMatrices(taps, mask_, /*softmax=*/false));
}

ExpandedMaskedConvImpl::ExpandedMaskedConvImpl(int64_t context, int64_t inner, int64_t kernel, bool softmax) : inner_(inner) {
  first_ = register_module("0", MaskedConv(inner, context, kernel, MixingMask::Causal, softmax));
  second_ = register_module("2", MaskedConv(context, inner, kernel, MixingMask::Causal, softmax));
}

at::Tensor ExpandedMaskedConvImpl::mix(const at::Tensor& x, int64_t rows) {
  // Hidden row r reads inputs s ≤ r and output t reads hidden r ≤ t, so t positions need min(t, e·n) hidden rows.
  at::Tensor hidden = at::gelu(first_->mix(x, std::min(x.size(0), inner_)));
  return second_->mix(hidden, rows);
}

void ExpandedMaskedConvImpl::zeroMaskedEntries() {
  first_->zeroMaskedEntries();
  second_->zeroMaskedEntries();
}

bool isVariant(const ModelConfig& c) {
  return c.mixerHeads != 1 || c.mixerKernel != 1 || c.mixingExpansion > 0 || c.mixingSoftmax || c.bidirectional;
}

MixerBlockImpl::MixerBlockImpl(int64_t dModel, int64_t context, int64_t ffMultiplier, bool fused) : fused_(fused) {
  seq_layernorm = register_module("seq_layernorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dModel})));
  conv = register_module("conv", MaskedConv(context));
  patch_layernorm = register_module("patch_layernorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dModel})));
  patch_ff = register_module("patch_ff", torch::nn::Sequential(torch::nn::Linear(dModel, ffMultiplier * dModel), torch::nn::GELU(),
                                                               torch::nn::Linear(ffMultiplier * dModel, dModel)));
}

MixerBlockImpl::MixerBlockImpl(const ModelConfig& c, MixingMask mask) : fused_(c.fused), variant_(true) {
  int64_t d = c.dModel, n = c.context, heads = c.mixerHeads;
  require(heads >= 1 && d % heads == 0, "mixer nHeads must divide dModel", "CONFIG_INVALID");
  require(c.mixerKernel >= 1, "mixer kernelSize must be ≥ 1", "CONFIG_INVALID");
  int64_t inner = c.mixingExpansion > 0 ? static_cast<int64_t>(std::llround(c.mixingExpansion * static_cast<double>(n))) : 0;
  require(c.mixingExpansion <= 0 || inner >= 1, "mixingExpansion·context must round to at least 1", "CONFIG_INVALID");
  require(inner == 0 || mask == MixingMask::Causal, "expanded mixing has no reverse stream (bidirectional)", "CONFIG_INVALID");
  seq_layernorm = register_module("seq_layernorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  auto unit = [&]() -> std::shared_ptr<MixingUnit> {
    if (inner > 0) return std::make_shared<ExpandedMaskedConvImpl>(n, inner, c.mixerKernel, c.mixingSoftmax);
    return std::make_shared<MaskedConvImpl>(n, n, c.mixerKernel, mask, c.mixingSoftmax);
  };
  if (heads == 1) {
    units_.push_back(register_module("conv", unit()));
  } else {
    // Paper Figure S6: each head projects d → d/H and mixes with its own matrix; out_proj maps the concatenation back.
    auto convs = register_module("conv", torch::nn::ModuleList());
    proj_head = register_module("proj_head", torch::nn::ModuleList());
    for (int64_t h = 0; h < heads; ++h) {
      proj_head->push_back(torch::nn::Linear(d, d / heads));
      units_.push_back(unit());
      convs->push_back(units_.back());
    }
    out_proj = register_module("out_proj", torch::nn::Linear(d, d));
  }
  patch_layernorm = register_module("patch_layernorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  patch_ff = register_module("patch_ff", torch::nn::Sequential(torch::nn::Linear(d, c.ffMultiplier * d), torch::nn::GELU(),
                                                               torch::nn::Linear(c.ffMultiplier * d, d)));
}

at::Tensor MixerBlockImpl::mixVariant(const at::Tensor& normed) {
  int64_t t = normed.size(0);
  if (units_.size() == 1) return units_[0]->mix(normed, t);
  std::vector<at::Tensor> heads;
  for (size_t h = 0; h < units_.size(); ++h) heads.push_back(units_[h]->mix((*proj_head)[h]->as<torch::nn::Linear>()->forward(normed), t));
  return out_proj->forward(at::cat(heads, -1));
}

void MixerBlockImpl::zeroMaskedEntries() {
  if (!variant_) return conv->zeroMaskedEntries();
  for (auto& u : units_) u->zeroMaskedEntries();
}

template <typename Stream>
Stream MixerBlockImpl::fusedMix(const Stream& x, int64_t t) {
  return mixSublayer(x, seq_layernorm->weight, seq_layernorm->bias, seq_layernorm->options.eps(),
                     conv->weight.select(2, 0).narrow(0, 0, t).narrow(1, 0, t), conv->bias.narrow(0, 0, t));
}

template <typename Stream>
Stream MixerBlockImpl::fusedFeedForward(const Stream& x) {
  auto* up = (*patch_ff)[0]->as<torch::nn::Linear>();
  auto* down = (*patch_ff)[2]->as<torch::nn::Linear>();
  return feedForwardSublayer(x, patch_layernorm->weight, patch_layernorm->bias, patch_layernorm->options.eps(), up->weight, up->bias,
                             down->weight, down->bias);
}

at::Tensor MixerBlockImpl::forward(const at::Tensor& input) {
  // Variants mix through plain modules and libtorch autograd; their feed-forward is fused as the flat mixer's.
  if (variant_) return feedForward(input + mixVariant(seq_layernorm->forward(input)));
  if (fused_) return fusedFeedForward(fusedMix(input, input.size(0)));
  // The same block through separate modules and libtorch's own autograd: the reference the fused path is
  // tested against.
  return feedForward(input + conv->forward(seq_layernorm->forward(input)));
}

DeferredResidual MixerBlockImpl::forwardDeferred(const DeferredResidual& in) { return fusedFeedForward(fusedMix(in, in.stream.size(0))); }

at::Tensor MixerBlockImpl::feedForward(const at::Tensor& x) {
  if (fused_) return fusedFeedForward(x);
  return x + patch_ff->forward(patch_layernorm->forward(x));
}

at::Tensor MixerBlockImpl::decode(const at::Tensor& x, MixingState& state) {
  at::Tensor normed = seq_layernorm->forward(x);
  return feedForward(x + (x.size(0) == 1 ? state.step(normed) : state.prefill(normed)));
}

MaskedMixerLM::MaskedMixerLM(const ModelConfig& config) : LanguageModel(config) {
  wte = register_module("wte", torch::nn::Embedding(config.vocabSize, config.dModel));
  mixerblocks = register_module("mixerblocks", torch::nn::ModuleList());
  bool variant = isVariant(config);
  for (int64_t i = 0; i < config.nLayers; ++i)
    mixerblocks->push_back(variant ? MixerBlock(config, MixingMask::Causal) : MixerBlock(config.dModel, config.context, config.ffMultiplier, config.fused));
  if (config.bidirectional) {
    // Paper §5.1 / Figure S11: forward and reverse streams are combined once, after their last blocks; combining
    // them inside every block would let token t+1 reach position t through t−1 (reverse, then forward).
    reverseblocks = register_module("reverseblocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < config.nLayers; ++i) reverseblocks->push_back(MixerBlock(config, MixingMask::Reverse));
  }
  lm_head = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(config.dModel, config.vocabSize).bias(false)));
}

LanguageModel::Hidden MaskedMixerLM::hiddenStates(const at::Tensor& tokens) {
  // Token-major from the embedding on: every op but the mixing is per token, and the mixing becomes one GEMM.
  at::Tensor x = wte->forward(tokens.t());
  return {streams(x, config_.nLayers), true};
}

at::Tensor MaskedMixerLM::runBlocks(torch::nn::ModuleListImpl& blocks, const at::Tensor& x, int64_t layers) {
  auto block = [&](int64_t i) { return blocks[i]->as<MixerBlock>(); };
  if (layers == 0 || !block(0)->defersResidual()) {
    at::Tensor h = x;
    for (int64_t i = 0; i < layers; ++i) h = block(i)->forward(h);
    return h;
  }
  DeferredResidual r{x, at::Tensor()};
  for (int64_t i = 0; i < layers; ++i) r = block(i)->forwardDeferred(r);
  return r.stream + r.pending;  // the last block's output: no norm follows it to add it
}

at::Tensor MaskedMixerLM::streams(const at::Tensor& embedded, int64_t layers) {
  at::Tensor x = runBlocks(*mixerblocks, embedded, layers);
  if (reverseblocks.is_empty()) return x;
  return x + runBlocks(*reverseblocks, embedded, layers);
}

void MaskedMixerLM::afterLoad() {
  for (const auto& block : *mixerblocks) block->as<MixerBlock>()->zeroMaskedEntries();
  if (!reverseblocks.is_empty())
    for (const auto& block : *reverseblocks) block->as<MixerBlock>()->zeroMaskedEntries();
}

}  // namespace maskmix
