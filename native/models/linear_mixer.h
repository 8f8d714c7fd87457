// The generalized linear mixer (SPEC §5, reference/structured-linear-mixing-notes.md): the flat masked mixer block
// (LN, mix, residual, LN, FF, residual) whose token mixing is, per head, Y = (I − B)⁻¹·(A·X + β) with A and B
// supported on one of nine patterns (ops/linear_pattern.h) and solved as in ops/linear_mixing.h. It trains on the
// whole sequence in parallel and decodes with a cache holding exactly the past outputs (and, for A's lags, the past
// inputs) that later positions read. Parameter names:
//   wte → mixerblocks.i.{seq_layernorm, mix.{in_proj, alpha, beta, bias | gate_weight, gate_bias, out_proj},
//   patch_layernorm, patch_ff.{0,2}} → lm_head
// (beta only for patterns with B; in_proj/out_proj only with projections; alpha, beta, bias for static
// coefficients, gate_weight, gate_bias for gated ones).
//
// Coefficients (the paper does not say how α and β are made; these are ours, selectable to ablate):
//   static  α_{i,l} and β_{i,k} are learned numbers indexed by absolute position i and slot (lag l / B slot k),
//           plus a bias β_i: the masked mixer's own parameterisation, so 'attention' with static coefficients *is*
//           the masked mixer (the same n×n matrix, stored by lag: alpha[h, i, l] = W[i, i − l]), and patterns are
//           compared with nothing else changed. Its recurrence is unconstrained: β starts small (|Σ_k β| ≤ ½).
//   gated   α and β of row i are a softmax over the row's used slots of a linear function of x_i (per head:
//           logits = gate_weight·x_i + gate_bias), so each output is a convex combination of the row's inputs and
//           the past outputs it reads: bounded however deep the recurrence (dense, pow2, …), and input-selective
//           like a gated SSM. The gates read only x_i, so a decoding step needs nothing beyond the pattern's
//           own cache. Not position-indexed, except that a slot's weights are per lag / per offset.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <memory>
#include <vector>

#include "decode/mixing_state.h"
#include "models/structured_block.h"
#include "models/structured_block_model.h"
#include "ops/linear_mixing.h"

namespace maskmix {

class LinearMixingImpl : public StructuredMixing {
 public:
  explicit LinearMixingImpl(const ModelConfig& config);
  // x: token-major [t, b, d], positions 0 … t−1.
  at::Tensor forward(const at::Tensor& x) override;
  // Per-head inputs [H, m, b, dh] of x [m, b, d] (without projections: H = 1, dh = d).
  at::Tensor heads(const at::Tensor& x);
  // Heads' outputs [H, m, b, dh] → [m, b, d].
  at::Tensor merge(const at::Tensor& y);
  // Mixes heads' inputs u at positions position … position+m−1, given what a decoding cache holds of the past.
  at::Tensor mix(const at::Tensor& u, int64_t position, const at::Tensor& pastInputs = {}, const at::Tensor& pastOutputs = {},
                 const std::vector<int64_t>* pastPositions = nullptr);
  // Past rows a held-position step reads, in any order: rows [H, r, b, dh] and, for each, the coefficient it takes
  // ([r] int64: the A lag, or the B slot). Undefined rows: none.
  struct PastRows {
    at::Tensor rows, coefficient;
  };
  // One decoding step at the position held in `position` ([1] int64 on u's device): u [H, 1, b, dh]; rows of lags
  // or slots the position cannot read yet are masked here (offsets: pattern().offsets() on the device). Nothing on
  // the host depends on the position: what a CUDA graph captures (decode/position_ring.h holds the rows).
  at::Tensor stepAt(const at::Tensor& u, const at::Tensor& position, const PastRows& inputs, const PastRows& outputs, const at::Tensor& offsets);
  const LinearPattern& pattern() const { return *pattern_; }
  // How training solves (I − B)·Y (config linearSolve, set at construction; ops/linear_mixing.h); decoding steps are
  // sequential by nature.
  void setSolve(LinearSolve solve, int64_t chunk) {
    solve_ = solve;
    chunk_ = chunk;
  }

  torch::nn::Linear in_proj{nullptr}, out_proj{nullptr};
  at::Tensor alpha, beta, bias, gate_weight, gate_bias;

 private:
  // Gated: logits [H, b, m, KA + KB] of heads' inputs u [H, m, b, dh], in u's dtype (under the caller's autocast).
  at::Tensor gateLogits(const at::Tensor& u);
  // Gated: α and β of each row, a softmax over the slots `used` marks (1 used, 0 not: −∞ before the softmax), in dtype.
  static at::Tensor gateWeights(const at::Tensor& logits, const at::Tensor& used, at::ScalarType dtype);

  std::shared_ptr<LinearPattern> pattern_;
  bool gated_;
  int64_t heads_;
  LinearSolve solve_ = LinearSolve::Auto;
  int64_t chunk_ = 64;
};
TORCH_MODULE(LinearMixing);

// The shared block (models/structured_block.h) with linear mixing.
class LinearBlockImpl : public StructuredBlockImpl {
 public:
  explicit LinearBlockImpl(const ModelConfig& config);

  LinearMixing mix{nullptr};
};
TORCH_MODULE(LinearBlock);

class LinearMixerLM : public StructuredBlockModel {
 public:
  explicit LinearMixerLM(const ModelConfig& config);
  const char* contextReason() const override {
    return "a linear mixer's pattern and coefficients are laid out for positions 0 … context−1, so its context is fixed at the training length";
  }

 protected:
  std::unique_ptr<MixingState> newState(StructuredBlockImpl& block) override;
};

}  // namespace maskmix
