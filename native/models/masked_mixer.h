// The flat masked mixer of SPEC §1, with parameter names matching the paper's PyTorch checkpoints:
// wte → mixerblocks.i.{seq_layernorm, conv, patch_layernorm, patch_ff.{0,2}} → lm_head.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "decode/mixing_state.h"
#include "models/language_model.h"

namespace maskmix {

// The token-mixing layer, stored as the reference stores Conv1d(n, n, 1): weight [n, n, 1], bias [n].
class MaskedConvImpl : public torch::nn::Module {
 public:
  explicit MaskedConvImpl(int64_t context);
  // x: token-major [t, b, d] with t ≤ n; uses the top-left t×t corner, which by causality is what a length-n
  // input would compute at its first t positions.
  at::Tensor forward(const at::Tensor& x);
  // Zeroes the upper triangle so stored weights say what the model computes.
  void zeroMaskedEntries();

  at::Tensor weight, bias;
};
TORCH_MODULE(MaskedConv);

class MixerBlockImpl : public torch::nn::Module {
 public:
  MixerBlockImpl(int64_t dModel, int64_t context, int64_t ffMultiplier, bool fused);
  at::Tensor forward(const at::Tensor& x);
  // The next m positions of a decoding session (x: token-major [m, b, d]): the mixing reads the state's cached
  // inputs of earlier positions instead of recomputing them.
  at::Tensor decode(const at::Tensor& x, MixingState& state);

  torch::nn::LayerNorm seq_layernorm{nullptr};
  MaskedConv conv{nullptr};
  torch::nn::LayerNorm patch_layernorm{nullptr};
  torch::nn::Sequential patch_ff{nullptr};

 private:
  // x + FF(LayerNorm(x)), fused or through the modules.
  at::Tensor feedForward(const at::Tensor& x);
  bool fused_;
};
TORCH_MODULE(MixerBlock);

class MaskedMixerLM : public LanguageModel, public CachedDecoding {
 public:
  explicit MaskedMixerLM(const ModelConfig& config);
  Hidden hiddenStates(const at::Tensor& tokens) override;
  at::Tensor outputWeight() override { return lm_head->weight; }
  void afterLoad() override;

  // Decoding caches each layer's mixing inputs (O(n·d) per layer): a new token costs O(t·d) per layer for its
  // mixing instead of a forward over the whole prefix (models/masked_mixer_decoding.cpp).
  MixingStates newMixingStates(int64_t batch) override;
  Hidden decodeHidden(const at::Tensor& tokens, MixingStates& states) override;
  const char* contextReason() const override { return "a masked mixer's mixing matrices are context×context, fixed at training"; }

 private:
  torch::nn::Embedding wte{nullptr};
  torch::nn::ModuleList mixerblocks{nullptr};
  torch::nn::Linear lm_head{nullptr};
};

}  // namespace maskmix
