#include "models/repeat_mixer.h"

#include <torch/utils.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "decode/growing_cache.h"

namespace maskmix {

namespace {

// One layer's decoding state: the running sums of every head (Toeplitz heads: every past input instead), and the
// position, which picks the position-indexed weights.
class RepeatMixingState : public MixingState {
 public:
  RepeatMixingState(RepeatMixing mix, int64_t context) : mix_(std::move(mix)), history_(/*dim=*/1, context) {}

  // m = 1 reaches decayedScan's one-step branch: the recurrence S ← γ·S + x itself.
  at::Tensor prefill(const at::Tensor& x) override {
    at::Tensor u = mix_->heads(x);
    RepeatWeights w = mix_->weights();
    at::Tensor carry = sums_;
    if (w.structure == RepeatStructure::Toeplitz) carry = history_.append(u.reshape({u.size(0), u.size(1), -1}));
    RepeatMixOutput out = repeatMixing(u, w, position_, carry);
    // Sums accumulate over the whole context: keep them in float32 even when the step ran in bf16.
    // Written in place once they exist: a captured decoding graph (decode/graphed_greedy_step.h) holds their address.
    if (out.sums.defined() && sums_.defined()) {
      sums_.copy_(out.sums);
    } else if (out.sums.defined()) {
      sums_ = (out.sums.scalar_type() == at::kBFloat16 || out.sums.scalar_type() == at::kHalf) ? out.sums.to(at::kFloat) : out.sums.clone();
    }
    position_ += u.size(1);
    batch_ = u.size(2);
    return mix_->merge(out.y);
  }

  // Every structure but Toeplitz continues from its running sums alone, which a step can update in place.
  bool canStepOnDevice() const override { return mix_->weights().structure != RepeatStructure::Toeplitz && sums_.defined(); }

  at::Tensor stepOnDevice(const at::Tensor& x, const at::Tensor& position) override {
    at::Tensor u = mix_->heads(x);
    RepeatMixOutput out = repeatMixing(u, mix_->weights(), 0, sums_, ScanStrategy::Auto, position);
    sums_.copy_(out.sums);  // in place: a captured graph keeps reading and writing this same memory
    return mix_->merge(out.y);
  }

  void advancedOnDevice() override { position_ += 1; }

  at::Tensor runningSums() const override { return sums_; }

  std::unique_ptr<MixingState> clone(int64_t copies) const override {
    auto copy = std::make_unique<RepeatMixingState>(*this);
    // Both hold batch·head width on their last axis, batch outer: split it to repeat the sequences.
    auto repeat = [&](const at::Tensor& t) {
      std::vector<int64_t> split = t.sizes().vec();
      split.back() = batch_;
      split.push_back(-1);
      std::vector<int64_t> merged = t.sizes().vec();
      merged.back() = -1;
      return t.view(split).repeat_interleave(copies, -2).reshape(merged);
    };
    if (sums_.defined()) copy->sums_ = repeat(sums_);
    copy->history_ = history_.map(repeat);
    copy->batch_ = batch_ * copies;
    return copy;
  }

  int64_t bytes() const override {
    return (sums_.defined() ? static_cast<int64_t>(sums_.numel() * sums_.element_size()) : 0) + history_.bytes();
  }

 private:
  RepeatMixing mix_;
  at::Tensor sums_;       // [G, b·d/H]
  GrowingCache history_;  // Toeplitz: [H, position, b·d/H]
  int64_t position_ = 0;
  int64_t batch_ = 0;
};

}  // namespace

RepeatMixingImpl::RepeatMixingImpl(const ModelConfig& c)
    : structure_(repeatStructureFromName(c.structure)), heads_(c.nHeads), decayConstant_(std::max(1.0, static_cast<double>(c.context) / 512.0)) {
  // c = max(1, n/512), not the reference's n // 512, which is 0 below n = 512 (SPEC §5).
  require(c.nHeads >= 1 && c.dModel % c.nHeads == 0, "a repeat mixer needs nHeads dividing dModel", "CONFIG_INVALID");
  require(structure_ != RepeatStructure::Kernel || c.kernelSize >= 1, "kernelSize must be ≥ 1", "CONFIG_INVALID");
  const int64_t d = c.dModel, n = c.context, H = c.nHeads;
  in_proj = register_module("in_proj", torch::nn::Linear(d, d));
  // The repeat weights start as the reference's do: N(0, 2/fan_in) with fan_in = n (k·n for the kernel's taps),
  // zero biases and δ = 1 (no decay). The projections and the feed-forward keep PyTorch's defaults, as in the
  // masked mixer, so the two kinds differ only in their token mixing.
  auto normal = [&](std::vector<int64_t> shape, double fanIn) { return torch::randn(shape) * std::sqrt(2.0 / fanIn); };
  if (structure_ == RepeatStructure::Kernel) {
    weight = register_parameter("weight", normal({H, c.kernelSize, n}, static_cast<double>(c.kernelSize * n)));
  } else {
    weight = register_parameter("weight", normal({H, n}, static_cast<double>(n)));
  }
  if (structure_ == RepeatStructure::Combined) row_weight = register_parameter("row_weight", normal({H, n}, static_cast<double>(n)));
  if (structure_ == RepeatStructure::ColumnDiagonal || structure_ == RepeatStructure::RowDiagonal)
    diagonal = register_parameter("diagonal", normal({H, n}, static_cast<double>(n)));
  bias = register_parameter("bias", torch::zeros({H, n}));
  if (structure_ != RepeatStructure::Toeplitz) decay = register_parameter("decay", torch::ones({H}));
  out_proj = register_module("out_proj", torch::nn::Linear(d, d));
}

at::Tensor RepeatMixingImpl::heads(const at::Tensor& x) {
  int64_t m = x.size(0), b = x.size(1);
  return in_proj->forward(x).view({m, b, heads_, -1}).permute({2, 0, 1, 3});
}

at::Tensor RepeatMixingImpl::merge(const at::Tensor& y) {
  int64_t m = y.size(1), b = y.size(2);
  return out_proj->forward(y.permute({1, 2, 0, 3}).reshape({m, b, -1}));
}

RepeatWeights RepeatMixingImpl::weights() const {
  RepeatWeights w;
  w.structure = structure_;
  w.weight = weight;
  w.rowWeight = row_weight;
  w.diagonal = diagonal;
  w.bias = bias;
  w.decay = decay;
  w.decayConstant = decayConstant_;
  return w;
}

at::Tensor RepeatMixingImpl::forward(const at::Tensor& x) { return merge(repeatMixing(heads(x), weights()).y); }

void RepeatMixingImpl::projectDecay() {
  if (!decay.defined()) return;
  torch::NoGradGuard noGrad;
  decay.clamp_(kDecayMin, kDecayMax);
}

RepeatBlockImpl::RepeatBlockImpl(const ModelConfig& c) : StructuredBlockImpl(c, [&c] { return RepeatMixing(c).ptr(); }) {
  mix = RepeatMixing(std::dynamic_pointer_cast<RepeatMixingImpl>(mixing_));
}

RepeatMixerLM::RepeatMixerLM(const ModelConfig& config) : StructuredBlockModel(config, [&config] { return RepeatBlock(config).ptr(); }) {}

at::Tensor RepeatMixerLM::hiddenFromEmbeddings(const at::Tensor& embeddings, int64_t layers) {
  at::Tensor x = embeddings.transpose(0, 1).contiguous();
  for (int64_t i = 0; i < layers; ++i) x = block(static_cast<size_t>(i)).forward(x);
  return x.transpose(0, 1);
}

void RepeatMixerLM::afterUpdate() {
  for (const auto& block : *mixerblocks) block->as<RepeatBlock>()->mix->projectDecay();
}

std::unique_ptr<MixingState> RepeatMixerLM::newState(StructuredBlockImpl& block) {
  return std::make_unique<RepeatMixingState>(dynamic_cast<RepeatBlockImpl&>(block).mix, config_.context);
}

}  // namespace maskmix
