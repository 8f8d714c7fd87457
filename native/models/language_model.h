// The interface every model the trainer, scorer and sampler drive implements: tokens in, next-token logits out.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include <map>
#include <memory>
#include <string>

#include "models/model_config.h"

namespace maskmix {

class LanguageModel : public torch::nn::Module {
 public:
  explicit LanguageModel(ModelConfig config) : config_(std::move(config)) {}
  ~LanguageModel() override = default;

  // Final hidden states (before the output projection) in the layout the model computes in: token-major
  // [t, batch, d] (the masked mixer: its token mixing is then one plain GEMM over [t, batch·d]) or batch-major
  // [batch, t, d]. tokens: [batch, t] int64 with t ≤ context.
  struct Hidden {
    at::Tensor states;
    bool tokenMajor = false;
  };
  virtual Hidden hiddenStates(const at::Tensor& tokens) = 0;
  // The output projection's weight [vocab, d]: logits = hidden · weightᵀ (no bias).
  virtual at::Tensor outputWeight() = 0;

  // Final hidden states as [batch, t, d] (a view when the model computes token-major).
  at::Tensor hidden(const at::Tensor& tokens) {
    Hidden h = hiddenStates(tokens);
    return h.tokenMajor ? h.states.transpose(0, 1) : h.states;
  }
  // tokens → logits [batch, t, vocab]; logits[:, i] predict token i+1.
  at::Tensor forward(const at::Tensor& tokens) { return at::matmul(hidden(tokens), outputWeight().t()); }

  // Which input token position i's hidden state predicts: i + targetOffset(). 1 for language models (the next
  // token); 0 for autoencoders, which reconstruct their input.
  virtual int64_t targetOffset() const { return 1; }

  // Restores the model's invariants after weights were written from outside (e.g. zeroes masked entries a
  // foreign checkpoint may hold).
  virtual void afterLoad() {}
  // Restores constraints on parameters after an optimizer step (e.g. keeps a learned decay inside its range).
  // Runs under no-grad.
  virtual void afterUpdate() {}

  // Input representation (SPEC §4, analysis/inversion.h): the input embedding table [vocab, d], and the hidden
  // state after the first `layers` blocks (1 … nLayers; for nLayers, what the output projection reads) computed
  // from input embeddings [batch, t, d] instead of tokens → [batch, t, d]. Models without them fail INVALID_ARGUMENT.
  virtual at::Tensor inputEmbedding();
  virtual at::Tensor hiddenFromEmbeddings(const at::Tensor& embeddings, int64_t layers);

  // Multi-token prediction heads (config.predictTokens > 1; train/multi_token.h): h + mtp_heads[j](h) predicts the
  // token j + 2 places ahead through the shared output projection. Added by buildModel after the model's own
  // modules, zero-initialised, so they start as copies of the next-token prediction and draw no random numbers.
  void addMultiTokenHeads();
  // offset 1 … predictTokens → the hidden states that predict the token that many places ahead.
  at::Tensor offsetHidden(const at::Tensor& hidden, int64_t offset);

  const ModelConfig& config() const { return config_; }

 protected:
  ModelConfig config_;
  torch::nn::ModuleList mtp_heads{nullptr};
};

// Builds the model a config names, with its initial weights drawn from config.seed, on config.device.
std::shared_ptr<LanguageModel> buildModel(const ModelConfig& config);

// Checked load of named tensors into a model's parameters and buffers: every name must be present with the exact
// shape, no extra names; values are cast to each parameter's dtype and device. Fails with CHECKPOINT_INVALID,
// naming each problem, before anything is written.
void loadStateDict(LanguageModel& model, const std::map<std::string, at::Tensor>& tensors);
// The same checked load for any module (no afterLoad): what loadStateDict runs before restoring the invariants.
void loadModuleState(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors);

}  // namespace maskmix
