// The masked recurrent ("repeat") mixer of SPEC §5: the flat masked mixer block (LN, mix, residual, LN, FF,
// residual) whose token mixing is multi-head and structured (ops/repeat_mixing.h), so it trains in parallel and
// decodes with O(1) state per head. Parameter names:
//   wte → mixerblocks.i.{seq_layernorm, mix.{in_proj, weight, row_weight, diagonal, bias, decay, out_proj},
//   patch_layernorm, patch_ff.{0,2}} → lm_head
// (row_weight only for "combined", diagonal only for the diagonal variants, no decay for "toeplitz").
// in_proj [d, d] holds the H per-head projections Linear(d, d/H) stacked.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "decode/mixing_state.h"
#include "models/language_model.h"
#include "ops/repeat_mixing.h"

namespace maskmix {

class RepeatMixingImpl : public torch::nn::Module {
 public:
  explicit RepeatMixingImpl(const ModelConfig& config);
  // x: token-major [t, b, d], positions 0 … t−1 (training and the full forward).
  at::Tensor forward(const at::Tensor& x);
  // Per-head inputs [H, m, b, d/H] of x [m, b, d].
  at::Tensor heads(const at::Tensor& x);
  // Heads' outputs [H, m, b, d/H] → the layer's output [m, b, d].
  at::Tensor merge(const at::Tensor& y);
  RepeatWeights weights() const;
  // Puts δ back inside its clip range after an optimizer step.
  void projectDecay();

  torch::nn::Linear in_proj{nullptr}, out_proj{nullptr};
  at::Tensor weight, row_weight, diagonal, bias, decay;

 private:
  RepeatStructure structure_;
  int64_t heads_;
  double decayConstant_;
};
TORCH_MODULE(RepeatMixing);

class RepeatBlockImpl : public torch::nn::Module {
 public:
  explicit RepeatBlockImpl(const ModelConfig& config);
  // x: token-major [m, b, d]. Without a state: positions 0 … m−1 in parallel; with one: the next m positions of
  // a decoding session; with a devicePosition too: one position, stepped through MixingState::stepOnDevice.
  at::Tensor forward(const at::Tensor& x, MixingState* state = nullptr, const at::Tensor& devicePosition = {});

  torch::nn::LayerNorm seq_layernorm{nullptr};
  RepeatMixing mix{nullptr};
  torch::nn::LayerNorm patch_layernorm{nullptr};
  torch::nn::Sequential patch_ff{nullptr};

 private:
  bool fused_;
};
TORCH_MODULE(RepeatBlock);

class RepeatMixerLM : public LanguageModel, public CachedDecoding {
 public:
  explicit RepeatMixerLM(const ModelConfig& config);
  Hidden hiddenStates(const at::Tensor& tokens) override;
  at::Tensor outputWeight() override { return lm_head->weight; }
  void afterUpdate() override;
  at::Tensor inputEmbedding() override { return wte->weight; }
  at::Tensor hiddenFromEmbeddings(const at::Tensor& embeddings, int64_t layers) override;

  MixingStates newMixingStates(int64_t batch) override;
  Hidden decodeHidden(const at::Tensor& tokens, MixingStates& states) override;
  Hidden decodeStepOnDevice(const at::Tensor& tokens, MixingStates& states, const at::Tensor& position) override;
  const char* contextReason() const override {
    return "a repeat mixer's weights and biases are indexed by absolute position, so its context is fixed at the training length";
  }
  // For decoding paths that read the weights directly (decode/fused_repeat_step.h).
  const torch::nn::Embedding& embedding() const { return wte; }
  const torch::nn::ModuleList& blocks() const { return mixerblocks; }
  const torch::nn::Linear& head() const { return lm_head; }

 private:
  torch::nn::Embedding wte{nullptr};
  torch::nn::ModuleList mixerblocks{nullptr};
  torch::nn::Linear lm_head{nullptr};
};

}  // namespace maskmix
