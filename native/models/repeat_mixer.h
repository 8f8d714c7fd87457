// The masked recurrent ("repeat") mixer of SPEC §5: the flat masked mixer block (LN, mix, residual, LN, FF,
// residual) whose token mixing is multi-head and structured (ops/repeat_mixing.h), so it trains in parallel and
// decodes with O(1) state per head. Parameter names:
//   wte → mixerblocks.i.{seq_layernorm, mix.{in_proj, weight, row_weight, diagonal, bias, decay, out_proj},
//   patch_layernorm, patch_ff.{0,2}} → lm_head
// (row_weight only for "combined", diagonal only for the diagonal variants, no decay for "toeplitz").
// in_proj [d, d] holds the H per-head projections Linear(d, d/H) stacked.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "decode/mixing_state.h"
#include "models/structured_block.h"
#include "models/structured_block_model.h"
#include "ops/repeat_mixing.h"

namespace maskmix {

class RepeatMixingImpl : public StructuredMixing {
 public:
  explicit RepeatMixingImpl(const ModelConfig& config);
  // x: token-major [t, b, d], positions 0 … t−1 (training and the full forward).
  at::Tensor forward(const at::Tensor& x) override;
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

// The shared block (models/structured_block.h) with repeat mixing, typed for callers that read its weights.
class RepeatBlockImpl : public StructuredBlockImpl {
 public:
  explicit RepeatBlockImpl(const ModelConfig& config);

  RepeatMixing mix{nullptr};
};
TORCH_MODULE(RepeatBlock);

class RepeatMixerLM : public StructuredBlockModel {
 public:
  explicit RepeatMixerLM(const ModelConfig& config);
  void afterUpdate() override;
  at::Tensor inputEmbedding() override { return wte->weight; }
  at::Tensor hiddenFromEmbeddings(const at::Tensor& embeddings, int64_t layers) override;
  const char* contextReason() const override {
    return "a repeat mixer's weights and biases are indexed by absolute position, so its context is fixed at the training length";
  }

 protected:
  std::unique_ptr<MixingState> newState(StructuredBlockImpl& block) override;
};

}  // namespace maskmix
