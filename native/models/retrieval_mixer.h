// The indirect retrieval model of paper §6.2 (Figure 9): a mixer over c frozen embeddings, not tokens. Position 0
// holds a query's embedding, positions 1 … c−1 candidate targets'; a block mixes positions with one full c×c
// matrix (bidirectional: every candidate is compared with every other and with the query, so no causal mask)
// and then transforms each position with the usual feed-forward, both pre-LayerNorm with residuals. A d → 1
// head turns each candidate's final hidden state into a logit; softmax over the candidates is the model's belief
// of where the match is. No token embedding, no language-model head: the inputs are embeddings already.
//
// Parameter names follow the masked mixer's (mixerblocks.i.{seq_layernorm, conv, patch_layernorm, patch_ff.{0,2}})
// plus retrieval_head, as the paper's retrieval code names them.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <memory>
#include <string>

namespace maskmix {

struct RetrievalMixerConfig {
  int64_t dModel = 0;       // the embeddings' width: the residual stream carries them unchanged in size
  int64_t nLayers = 0;
  int64_t context = 0;      // c: embeddings per input, the query included; the mixing matrices are c×c
  int64_t ffMultiplier = 4;
  uint64_t seed = 0;        // initial weights are a function of the config and this seed alone
  std::string device = "cpu";
  std::string dtype = "float32";
};

// Conv1d(c, c, 1) as the reference stores it — weight [c, c, 1], bias [c] — with the whole matrix in use.
class FullMixingImpl : public torch::nn::Module {
 public:
  explicit FullMixingImpl(int64_t context);
  at::Tensor weight, bias;
};
TORCH_MODULE(FullMixing);

class RetrievalBlockImpl : public torch::nn::Module {
 public:
  RetrievalBlockImpl(int64_t dModel, int64_t context, int64_t ffMultiplier);
  // x: position-major [c, b, d] → the same shape.
  at::Tensor forward(const at::Tensor& x);

  torch::nn::LayerNorm seq_layernorm{nullptr};
  FullMixing conv{nullptr};
  torch::nn::LayerNorm patch_layernorm{nullptr};
  torch::nn::Sequential patch_ff{nullptr};
};
TORCH_MODULE(RetrievalBlock);

class RetrievalMixer : public torch::nn::Module {
 public:
  explicit RetrievalMixer(RetrievalMixerConfig config);
  // inputs: [b, c, d] (query, then c − 1 candidates) → logits [b, c − 1]: entry k scores position k + 1. The
  // query's own position gets no logit at all (it is never the answer; a logit of −∞ would be the same softmax).
  at::Tensor logits(const at::Tensor& inputs);
  const RetrievalMixerConfig& config() const { return config_; }

 private:
  RetrievalMixerConfig config_;
  torch::nn::ModuleList mixerblocks{nullptr};
  torch::nn::Linear retrieval_head{nullptr};
};

// Builds the model with initial weights drawn from config.seed, on config.device in config.dtype.
std::shared_ptr<RetrievalMixer> buildRetrievalMixer(const RetrievalMixerConfig& config);

// Mean cross-entropy of logits [b, c − 1] against match positions labels [b] (int64, 1 … c − 1), computed in
// float32 or wider whatever the logits' dtype.
at::Tensor retrievalLoss(const at::Tensor& logits, const at::Tensor& labels);

// labels [b] as given by JS (positions 1 … c − 1), checked on the host before any kernel indexes with them.
void checkRetrievalLabels(const at::Tensor& labels, int64_t context);

}  // namespace maskmix
