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
#include "ops/masked_mixing.h"
#include "ops/prenorm_sublayers.h"

namespace maskmix {

// Whether a config asks for anything but the flat single-head mixer.
bool isVariant(const ModelConfig& c);

// One stage of token mixing as a variant computes it (ops/masked_mixing.h: kernel taps, row-softmax, reverse
// mask): maps token-major [c, b, f] to [rows, b, f].
class MixingUnit : public torch::nn::Module {
 public:
  virtual at::Tensor mix(const at::Tensor& x, int64_t rows) = 0;
  virtual void zeroMaskedEntries() = 0;
};

// The token-mixing layer, stored as the reference stores Conv1d(n, n, 1): weight [n, n, 1], bias [n]. Variants
// store Conv1d(cols, rows, k): weight [rows, cols, k], bias [rows].
class MaskedConvImpl : public MixingUnit {
 public:
  explicit MaskedConvImpl(int64_t context);
  MaskedConvImpl(int64_t rows, int64_t cols, int64_t kernel, MixingMask mask, bool softmax);
  // x: token-major [t, b, d] with t ≤ n; uses the top-left t×t corner, which by causality is what a length-n
  // input would compute at its first t positions.
  at::Tensor forward(const at::Tensor& x);
  // Any variant: the top-left rows × c corner of every tap, masked (and softmaxed) → [rows, b, f].
  at::Tensor mix(const at::Tensor& x, int64_t rows) override;
  // Zeroes the entries the mask hides so stored weights say what the model computes.
  void zeroMaskedEntries() override;

  at::Tensor weight, bias;

 private:
  MixingMask mask_ = MixingMask::Causal;
  bool softmax_ = false;
};
TORCH_MODULE(MaskedConv);

// Expanded mixing (the original MLP-mixer form): W2·GELU(W1·x + β1) + β2 with W1 [e·n, n], W2 [n, e·n], both
// lower-triangular (rows past n of W1 are never read: the paper's "unused parameters"). Stored as the reference's
// Sequential(Conv1d, GELU, Conv1d): conv.0.*, conv.2.*.
class ExpandedMaskedConvImpl : public MixingUnit {
 public:
  ExpandedMaskedConvImpl(int64_t context, int64_t inner, int64_t kernel, bool softmax);
  at::Tensor mix(const at::Tensor& x, int64_t rows) override;
  void zeroMaskedEntries() override;

 private:
  MaskedConv first_{nullptr}, second_{nullptr};
  int64_t inner_;
};

class MixerBlockImpl : public torch::nn::Module {
 public:
  MixerBlockImpl(int64_t dModel, int64_t context, int64_t ffMultiplier, bool fused);
  // A variant block (ModelConfig's mixer fields): mixing through MixingUnits; mask Reverse for the bidirectional
  // mixer's second stream.
  MixerBlockImpl(const ModelConfig& c, MixingMask mask);
  at::Tensor forward(const at::Tensor& x);
  // forward on a deferred residual (ops/prenorm_sublayers.h): each residual add runs inside the LayerNorm after it.
  // For fused plain blocks (defersResidual()).
  DeferredResidual forwardDeferred(const DeferredResidual& in);
  bool defersResidual() const { return fused_ && !variant_; }
  // Restores each mixing weight's mask after a load.
  void zeroMaskedEntries();
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
  // The fused sublayers (ops/prenorm_sublayers.h) of a plain block on x (at::Tensor: each adds its own residual) or
  // on a DeferredResidual; t: the tokens, which select the mixing weight's top-left corner.
  template <typename Stream>
  Stream fusedMix(const Stream& x, int64_t t);
  template <typename Stream>
  Stream fusedFeedForward(const Stream& x);
  // The variants' token mixing of LN(x): one unit, or heads (proj_head.h → unit h → concatenated → out_proj).
  at::Tensor mixVariant(const at::Tensor& normed);
  bool fused_;
  bool variant_ = false;
  std::vector<std::shared_ptr<MixingUnit>> units_;  // registered as conv (one head) or conv.h (several)
  torch::nn::ModuleList proj_head{nullptr};
  torch::nn::Linear out_proj{nullptr};
};
TORCH_MODULE(MixerBlock);

class MaskedMixerLM : public LanguageModel, public CachedDecoding {
 public:
  explicit MaskedMixerLM(const ModelConfig& config);
  Hidden hiddenStates(const at::Tensor& tokens) override;
  at::Tensor outputWeight() override { return lm_head->weight; }
  void afterLoad() override;
  at::Tensor inputEmbedding() override { return wte->weight; }
  at::Tensor hiddenFromEmbeddings(const at::Tensor& embeddings, int64_t layers) override {
    return streams(embeddings.transpose(0, 1).contiguous(), layers).transpose(0, 1);
  }

  // Decoding caches each layer's mixing inputs (O(n·d) per layer): a new token costs O(t·d) per layer for its
  // mixing instead of a forward over the whole prefix (models/masked_mixer_decoding.cpp).
  MixingStates newMixingStates(int64_t batch) override;
  // Only the flat mixer has the cached path; a variant decodes by re-running its prefix.
  bool cachedDecodingAvailable() const override { return !isVariant(config_); }
  Hidden decodeHidden(const at::Tensor& tokens, MixingStates& states) override;
  const char* contextReason() const override { return "a masked mixer's mixing matrices are context×context, fixed at training"; }

 private:
  // The first `layers` blocks of the forward stream (plus the reverse stream's, added) from embeddings, token-major.
  at::Tensor streams(const at::Tensor& embedded, int64_t layers);
  // The first `layers` blocks of one stream on x, deferring the residual adds where the blocks can.
  static at::Tensor runBlocks(torch::nn::ModuleListImpl& blocks, const at::Tensor& x, int64_t layers);

  torch::nn::Embedding wte{nullptr};
  torch::nn::ModuleList mixerblocks{nullptr};
  torch::nn::ModuleList reverseblocks{nullptr};  // bidirectional only
  torch::nn::Linear lm_head{nullptr};
};

}  // namespace maskmix
