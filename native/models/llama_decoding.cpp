// Key/value-cache decoding of the Llama baseline: each layer keeps the rotated keys and the values of every
// position seen, so a new token attends to them without recomputing the prefix. O(n·d) memory per layer.
#include <torch/types.h>

#include <cmath>

#include "common/torch_compat.h"
#include "decode/growing_cache.h"
#include "models/llama.h"

namespace maskmix {

namespace {

struct RotaryTables {
  at::Tensor cos, sin;  // [context, headDim], float32
};

class KvCacheState : public MixingState {
 public:
  KvCacheState(LlamaAttention attention, std::shared_ptr<const RotaryTables> rotary, int64_t context)
      : attention_(std::move(attention)), rotary_(std::move(rotary)), keys_(/*dim=*/2, context), values_(/*dim=*/2, context) {}

  // x: [b, m, d] at positions p … p+m−1.
  at::Tensor prefill(const at::Tensor& x) override {
    int64_t m = x.size(1), p = position_;
    auto [q, newKeys, newValues] = attention_->project(x, rotary_->cos.narrow(0, p, m), rotary_->sin.narrow(0, p, m));
    at::Tensor k = keys_.append(newKeys);  // [b, H, p+m, hd]
    at::Tensor v = values_.append(newValues);
    // Query i (position p+i) sees keys 0 … p+i; a single query sees them all, so needs no mask.
    at::Tensor allowed;
    if (m > 1) {
      auto index = at::TensorOptions().dtype(at::kLong).device(x.device());
      allowed = at::arange(p + m, index).unsqueeze(0).le(at::arange(p, p + m, index).unsqueeze(1));
    }
    at::Tensor out;
#if MASKMIX_TORCH_AT_LEAST(2, 0)
    // One query per sequence: two small GEMMs and a softmax. SDPA would pick a backend for every new key length
    // (and measured ~60 ms/token on an H100 that way); chunks keep it.
    if (m > 1) out = at::scaled_dot_product_attention(q, k, v, c10::optional<at::Tensor>(allowed));
#endif
    if (!out.defined()) {
      at::Tensor scores = at::matmul(q, k.transpose(-2, -1)).div(std::sqrt(static_cast<double>(attention_->headDim())));
      if (allowed.defined()) scores = scores.masked_fill(allowed.logical_not(), -INFINITY);
      out = at::matmul(at::softmax(scores, -1).to(v.scalar_type()), v);
    }
    position_ += m;
    return attention_->output(out);
  }

  std::unique_ptr<MixingState> clone(int64_t copies) const override {
    auto copy = std::make_unique<KvCacheState>(*this);
    auto repeat = [copies](const at::Tensor& held) { return held.repeat_interleave(copies, 0); };  // batch first
    copy->keys_ = keys_.map(repeat);
    copy->values_ = values_.map(repeat);
    return copy;
  }

  int64_t bytes() const override { return keys_.bytes() + values_.bytes(); }

 private:
  LlamaAttention attention_;
  std::shared_ptr<const RotaryTables> rotary_;
  GrowingCache keys_, values_;  // [b, H, position, hd]
  int64_t position_ = 0;
};

}  // namespace

at::Tensor LlamaDecoderLayerImpl::decode(const at::Tensor& input, MixingState& state) {
  at::Tensor normed = attentionInput(input);
  return feedForward(input + (input.size(1) == 1 ? state.step(normed) : state.prefill(normed)));
}

MixingStates LlamaLM::newMixingStates(int64_t /*batch*/) {
  // Tables for the whole context once per session, shared by every layer (the same values the forward computes).
  auto rotary = std::make_shared<RotaryTables>();
  std::tie(rotary->cos, rotary->sin) =
      rotaryTables(config_.context, config_.dModel / config_.nHeads, config_.ropeTheta, lm_head->weight.options());
  MixingStates states;
  for (const auto& layer : *model->layers)
    states.push_back(std::make_unique<KvCacheState>(layer->as<LlamaDecoderLayer>()->self_attn, rotary, config_.context));
  return states;
}

LanguageModel::Hidden LlamaLM::decodeHidden(const at::Tensor& tokens, MixingStates& states) {
  at::Tensor x = model->embed_tokens->forward(tokens);
  size_t i = 0;
  for (const auto& layer : *model->layers) x = layer->as<LlamaDecoderLayer>()->decode(x, *states.at(i++));
  return {finalNorm(x), false};
}

}  // namespace maskmix
