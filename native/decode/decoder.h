// A decoding session over one model: feeds it tokens a chunk at a time (prefill) or one per sequence (step) and
// returns the logits of what comes next, keeping the past in per-layer states so no prefix is re-run. Models
// without a cache are decoded by re-running the whole prefix ("full-prefix" mode), with the same interface.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>

#include "decode/mixing_state.h"
#include "models/language_model.h"

namespace maskmix {

class Decoder {
 public:
  virtual ~Decoder() = default;

  // tokens: [batch, m] int64 (any device), m ≥ 1 → logits [batch, vocab] of the last position, or
  // [batch, m, vocab] when allPositions. float32 (float64 for a float64 model).
  at::Tensor prefill(const at::Tensor& tokens, bool allPositions = false);
  // tokens: [batch], one per sequence → logits [batch, vocab] of the next position.
  at::Tensor step(const at::Tensor& tokens);
  // Greedy generation in one native loop: feeds first [batch], then each step's argmax, count steps in all →
  // the argmax after each step, [batch, count] int64 on the CPU (the last one is not fed). No host round trip
  // per token; on a GPU, models whose states can step on the device replay one captured CUDA graph per token.
  at::Tensor greedy(const at::Tensor& first, int64_t count);
  // Whether the last greedy() replayed a CUDA graph.
  bool lastGreedyGraphed() const { return lastGreedyGraphed_; }
  // Whether that graph was maskmix's own decoding kernels (decode/fused_repeat_step.h).
  bool lastGreedyFused() const { return lastGreedyFused_; }
  // Whether those kernels read int8 weights (makeDecoder's weights "int8").
  bool lastGreedyInt8Weights() const { return lastGreedyInt8Weights_; }
  // Whether their bf16 products ran on tensor cores (MASKMIX_DECODE_TENSOR_CORES=1 at capture).
  bool lastGreedyTensorCores() const { return lastGreedyTensorCores_; }

  int64_t position() const { return position_; }
  int64_t batch() const { return batch_; }
  const std::shared_ptr<LanguageModel>& model() const { return model_; }
  // "cached" or "full-prefix".
  virtual const char* mode() const = 0;
  // Device memory the session holds, in bytes.
  virtual int64_t cacheBytes() const = 0;
  // An independent copy at the same position; copies > 1 repeats each sequence (see MixingState::clone).
  virtual std::unique_ptr<Decoder> clone(int64_t copies = 1) const = 0;
  // Back to position 0, dropping every state.
  virtual void reset() = 0;

 protected:
  Decoder(std::shared_ptr<LanguageModel> model, int64_t batch) : model_(std::move(model)), batch_(batch) {}
  // Copies the settings every decoder shares (position is copied by each clone()).
  void copySettingsTo(Decoder& other) const {
    other.autocast_ = autocast_;
    other.int8Weights_ = int8Weights_;
  }
  // Final hidden states of the m new positions (tokens on the model's device).
  virtual LanguageModel::Hidden advance(const at::Tensor& tokens) = 0;
  virtual std::string contextReason() const = 0;
  // greedy() once its arguments are checked (first on the model's device): a loop of step()s here.
  virtual at::Tensor greedyTokens(const at::Tensor& first, int64_t count);

  std::shared_ptr<LanguageModel> model_;
  int64_t batch_;
  int64_t position_ = 0;
  bool autocast_ = false;
  bool int8Weights_ = false;  // greedy()'s fused kernels read int8 weights
  bool lastGreedyGraphed_ = false;
  bool lastGreedyFused_ = false;
  bool lastGreedyInt8Weights_ = false;
  bool lastGreedyTensorCores_ = false;

  friend std::unique_ptr<Decoder> makeDecoder(std::shared_ptr<LanguageModel>, int64_t, const std::string&, const std::string&,
                                              const std::string&);
};

// mode: "cached" (fails for a model without cached decoding), "full-prefix", or "auto" (cached when the model
// has it). precision: "auto" (bf16 autocast on a CUDA device, as evaluation runs) or "fp32". weights: "model" (the
// model's weights, or their bf16 copies under autocast) or "int8": greedy()'s fused GPU kernels read int8 copies
// with a scale per output row (decode/quantized_rows.h); needs a CUDA model.
std::unique_ptr<Decoder> makeDecoder(std::shared_ptr<LanguageModel> model, int64_t batch, const std::string& mode,
                                     const std::string& precision = "auto", const std::string& weights = "model");

// Whether the model decodes with a cache.
bool hasCachedDecoding(const LanguageModel& model);

}  // namespace maskmix
