// Cached decoding of the plain masked mixer: each layer keeps the mixing inputs LN(x_s) of every position seen,
// so the next position's mix is one row of the masked matrix times that cache, O(t·d), and nothing before it is
// recomputed. Memory: O(n·d) per layer and sequence.
#include <torch/types.h>

#include "decode/growing_cache.h"
#include "models/masked_mixer.h"

namespace maskmix {

namespace {

class MaskedMixingState : public MixingState {
 public:
  MaskedMixingState(MaskedConv conv, int64_t context) : conv_(std::move(conv)), inputs_(/*dim=*/0, context) {}

  // x: token-major [m, b, d] at positions p … p+m−1 → Σ_{s ≤ p+i} W[p+i, s]·x_s + β[p+i].
  at::Tensor prefill(const at::Tensor& x) override {
    int64_t m = x.size(0), p = position_;
    at::Tensor past = inputs_.append(x);  // [p+m, b, d]
    // Rows p … p+m−1 of the causal matrix: entry (i, s) is used when s ≤ p + i.
    at::Tensor rows = conv_->weight.select(2, 0).narrow(0, p, m).narrow(1, 0, p + m).tril(p);
    at::Tensor y = at::addmm(conv_->bias.narrow(0, p, m).unsqueeze(1), rows, past.view({p + m, -1}));
    position_ += m;
    return y.view(x.sizes());
  }

  std::unique_ptr<MixingState> clone(int64_t copies) const override {
    auto copy = std::make_unique<MaskedMixingState>(*this);
    copy->inputs_ = inputs_.map([copies](const at::Tensor& held) { return held.repeat_interleave(copies, 1); });
    return copy;
  }

  int64_t bytes() const override { return inputs_.bytes(); }

 private:
  MaskedConv conv_;
  GrowingCache inputs_;  // [position, b, d]
  int64_t position_ = 0;
};

}  // namespace

MixingStates MaskedMixerLM::newMixingStates(int64_t /*batch*/) {
  MixingStates states;
  for (const auto& block : *mixerblocks) states.push_back(std::make_unique<MaskedMixingState>(block->as<MixerBlock>()->conv, config_.context));
  return states;
}

LanguageModel::Hidden MaskedMixerLM::decodeHidden(const at::Tensor& tokens, MixingStates& states) {
  at::Tensor x = wte->forward(tokens.t());
  size_t i = 0;
  for (const auto& block : *mixerblocks) x = block->as<MixerBlock>()->decode(x, *states.at(i++));
  return {x, true};
}

}  // namespace maskmix
