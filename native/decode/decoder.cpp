#include "decode/decoder.h"

#include <torch/types.h>

#include "common/env_setting.h"
#include "common/error.h"
#include "common/torch_compat.h"
#include "decode/graphed_greedy_step.h"
#include "decode/held_position_step.h"

namespace maskmix {

namespace {

// MASKMIX_HELD_POSITION_STEPS=always: greedy decoding without a graph takes the held-position step even where it
// costs more than a host-side step (heldStepsCostMore), so the step a GPU graph captures can be checked on a CPU.
bool heldStepsForced() {
  return envIs("MASKMIX_HELD_POSITION_STEPS", "always");
}

// The per-layer states of a model that implements CachedDecoding.
class CachedDecoder : public Decoder {
 public:
  CachedDecoder(std::shared_ptr<LanguageModel> model, int64_t batch, CachedDecoding& decoding)
      : Decoder(std::move(model), batch), decoding_(decoding) {}

  const char* mode() const override { return "cached"; }

  int64_t cacheBytes() const override {
    int64_t total = 0;
    for (const auto& s : states_) total += s->bytes();
    return total;
  }

  std::unique_ptr<Decoder> clone(int64_t copies) const override {
    auto copy = std::make_unique<CachedDecoder>(model_, batch_ * copies, decoding_);
    for (const auto& s : states_) copy->states_.push_back(s->clone(copies));
    copy->position_ = position_;
    copySettingsTo(*copy);
    return copy;
  }

  void reset() override {
    graph_.reset();
    states_.clear();
    position_ = 0;
  }

 protected:
  LanguageModel::Hidden advance(const at::Tensor& tokens) override {
    if (states_.empty()) states_ = decoding_.newMixingStates(batch_);
    return decoding_.decodeHidden(tokens, states_);
  }

  // When every layer's state can step at a device-held position: one host-side step if nothing was fed yet (the
  // states take their shapes from it), then steps at a held position — graph replays on a GPU, the same step run
  // eagerly on the CPU.
  at::Tensor greedyTokens(const at::Tensor& first, int64_t count) override {
    at::Tensor head;
    at::Tensor next = first;
    if (states_.empty()) {
      head = Decoder::greedyTokens(first, 1);
      if (--count == 0) return head;
      next = head.select(1, 0);
    }
    auto afterHead = [&](const at::Tensor& tail) { return head.defined() ? at::cat({head, tail}, 1) : tail; };
    const bool graphed = graphedDecodingBuilt() && first.is_cuda();
    for (const auto& s : states_)
      if (!s->canStepOnDevice() || (!graphed && s->heldStepsCostMore() && !heldStepsForced()))
        return afterHead(Decoder::greedyTokens(next, count));
    for (const auto& s : states_) s->prepareStepOnDevice();
    at::Tensor tail;
    if (graphed) {
      if (!graph_ || !graph_->stillValid(*model_)) {
        graph_.reset();
        graph_ = std::make_unique<GraphedGreedyStep>(*model_, decoding_, states_, batch_, autocast_, int8Weights_);
      }
      tail = graph_->run(next, position_, count);
      lastGreedyGraphed_ = true;
      lastGreedyFused_ = graph_->fused();
      lastGreedyInt8Weights_ = graph_->int8Weights();
      lastGreedyTensorCores_ = graph_->tensorCores();
    } else {
      tail = stepsAtHeldPosition(next, count);
    }
    for (const auto& s : states_)
      for (int64_t i = 0; i < count; ++i) s->advancedOnDevice();
    position_ += count;
    return afterHead(tail);
  }

  // The graph's step without a graph (CPU): count greedy steps from `first` [batch] at position_ → [batch, count].
  at::Tensor stepsAtHeldPosition(const at::Tensor& first, int64_t count) {
    c10::InferenceMode inference;
    compat::CudaAutocast autocast(autocast_, at::kBFloat16);
    model_->eval();
    auto longs = first.options().dtype(at::kLong);
    at::Tensor tokens = first.view({batch_, 1}).clone();
    at::Tensor position = at::full({1}, position_, longs);
    at::Tensor history = at::zeros({batch_, model_->config().context}, longs);
    for (int64_t i = 0; i < count; ++i) greedyStepAtHeldPosition(*model_, decoding_, states_, tokens, position, history);
    return history.narrow(1, position_, count).clone();
  }
  std::string contextReason() const override { return decoding_.contextReason(); }

 private:
  CachedDecoding& decoding_;  // the model itself, which model_ keeps alive
  MixingStates states_;
  std::unique_ptr<GraphedGreedyStep> graph_;  // captured on the first graphed greedy(), for this batch
};

// Keeps the tokens and re-runs the model over all of them for every call: what decoding costs without a cache
// (the reference point of `maskmix bench --decode`, and the path for models that have no cache).
class FullPrefixDecoder : public Decoder {
 public:
  FullPrefixDecoder(std::shared_ptr<LanguageModel> model, int64_t batch) : Decoder(std::move(model), batch) {}

  const char* mode() const override { return "full-prefix"; }
  int64_t cacheBytes() const override { return tokens_.defined() ? static_cast<int64_t>(tokens_.numel() * tokens_.element_size()) : 0; }

  std::unique_ptr<Decoder> clone(int64_t copies) const override {
    auto copy = std::make_unique<FullPrefixDecoder>(model_, batch_ * copies);
    if (tokens_.defined()) copy->tokens_ = tokens_.repeat_interleave(copies, 0);
    copy->position_ = position_;
    copySettingsTo(*copy);
    return copy;
  }

  void reset() override {
    tokens_ = at::Tensor();
    position_ = 0;
  }

 protected:
  LanguageModel::Hidden advance(const at::Tensor& tokens) override {
    tokens_ = tokens_.defined() ? at::cat({tokens_, tokens}, 1) : tokens;
    LanguageModel::Hidden h = model_->hiddenStates(tokens_);
    int64_t m = tokens.size(1), from = tokens_.size(1) - m;
    return {h.states.narrow(h.tokenMajor ? 0 : 1, from, m), h.tokenMajor};
  }
  std::string contextReason() const override { return "its forward pass takes at most that many tokens"; }

 private:
  at::Tensor tokens_;  // [batch, position]
};

}  // namespace

bool hasCachedDecoding(const LanguageModel& model) {
  auto* decoding = dynamic_cast<const CachedDecoding*>(&model);
  return decoding != nullptr && decoding->cachedDecodingAvailable();
}

std::unique_ptr<Decoder> makeDecoder(std::shared_ptr<LanguageModel> model, int64_t batch, const std::string& mode,
                                     const std::string& precision, const std::string& weights) {
  require(model != nullptr, "model was disposed", "DISPOSED");
  require(batch >= 1, "batch must be ≥ 1");
  require(mode == "auto" || mode == "cached" || mode == "full-prefix", "decoder mode must be 'auto', 'cached' or 'full-prefix', got '" + mode + "'");
  require(precision == "auto" || precision == "fp32", "decoder precision must be 'auto' or 'fp32', got '" + precision + "'");
  require(weights == "model" || weights == "int8", "decoder weights must be 'model' or 'int8', got '" + weights + "'");
  const bool cuda = at::Device(model->config().device).is_cuda();
  require(weights != "int8" || cuda, "decoder weights 'int8' need a model on a CUDA device: only greedy()'s fused GPU kernels read int8 weights");
  auto* decoding = dynamic_cast<CachedDecoding*>(model.get());
  if (decoding != nullptr && !decoding->cachedDecodingAvailable()) decoding = nullptr;
  require(mode != "cached" || decoding != nullptr,
          "models of kind '" + model->config().kind + "' (in this configuration) have no cached decoding; use mode 'full-prefix'");
  bool autocast = precision == "auto" && cuda;
  std::unique_ptr<Decoder> decoder;
  if (decoding == nullptr || mode == "full-prefix") {
    decoder = std::make_unique<FullPrefixDecoder>(std::move(model), batch);
  } else {
    decoder = std::make_unique<CachedDecoder>(std::move(model), batch, *decoding);
  }
  decoder->autocast_ = autocast;
  decoder->int8Weights_ = weights == "int8";
  return decoder;
}

at::Tensor Decoder::prefill(const at::Tensor& tokens, bool allPositions) {
  require(tokens.dim() == 2 && tokens.size(0) == batch_ && tokens.size(1) >= 1,
          "prefill takes [batch=" + std::to_string(batch_) + ", m ≥ 1] tokens", "SHAPE_MISMATCH");
  const ModelConfig& config = model_->config();
  int64_t m = tokens.size(1);
  require(position_ + m <= config.context,
          "decoding " + std::to_string(m) + " more token(s) at position " + std::to_string(position_) + " would pass the model's context of " +
              std::to_string(config.context) + ": " + contextReason() + ". reset() the decoder, or start again from the last tokens",
          "CONTEXT_FULL");
  c10::InferenceMode inference;
  compat::CudaAutocast autocast(autocast_, at::kBFloat16);
  model_->eval();
  at::Tensor onDevice = tokens.to(at::Device(config.device), at::kLong);
  LanguageModel::Hidden h = advance(onDevice);
  position_ += m;
  at::Tensor states = h.tokenMajor ? h.states.transpose(0, 1) : h.states;  // [batch, m, d]
  if (!allPositions) states = states.select(1, m - 1);
  at::Tensor logits = at::matmul(states, model_->outputWeight().t().to(states.scalar_type()));
  return logits.scalar_type() == at::kDouble ? logits : logits.to(at::kFloat);
}

at::Tensor Decoder::greedy(const at::Tensor& first, int64_t count) {
  require(first.dim() == 1 && first.size(0) == batch_, "greedy takes one token per sequence: [batch=" + std::to_string(batch_) + "]",
          "SHAPE_MISMATCH");
  require(count >= 1, "greedy needs count ≥ 1");
  const ModelConfig& config = model_->config();
  require(position_ + count <= config.context,
          "generating " + std::to_string(count) + " token(s) from position " + std::to_string(position_) + " would pass the model's context of " +
              std::to_string(config.context) + ": " + contextReason(),
          "CONTEXT_FULL");
  lastGreedyGraphed_ = false;
  lastGreedyFused_ = false;
  lastGreedyInt8Weights_ = false;
  lastGreedyTensorCores_ = false;
  return greedyTokens(first.to(at::Device(config.device), at::kLong), count).to(at::kCPU);
}

at::Tensor Decoder::greedyTokens(const at::Tensor& first, int64_t count) {
  std::vector<at::Tensor> chosen;
  at::Tensor next = first;
  for (int64_t i = 0; i < count; ++i) {
    next = step(next).argmax(-1);
    chosen.push_back(next);
  }
  return at::stack(chosen, 1);
}

at::Tensor Decoder::step(const at::Tensor& tokens) {
  require(tokens.dim() == 1 && tokens.size(0) == batch_, "step takes one token per sequence: [batch=" + std::to_string(batch_) + "]",
          "SHAPE_MISMATCH");
  return prefill(tokens.unsqueeze(1));
}

}  // namespace maskmix
