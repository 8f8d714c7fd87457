// The transformer baseline of SPEC §2: a Llama-style decoder (RMSNorm, rotary positions, causal multi-head
// attention, SwiGLU MLP, untied head), with parameter names of Hugging Face's LlamaForCausalLM so checkpoints
// load in `transformers`.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include "decode/mixing_state.h"
#include "models/language_model.h"

namespace maskmix {

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

class LlamaAttentionImpl : public torch::nn::Module {
 public:
  LlamaAttentionImpl(int64_t dModel, int64_t nHeads, bool fused);
  // cos/sin: [t, headDim] rotary tables for positions 0..t-1.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);
  // The two halves around the attention itself, shared with key/value-cache decoding:
  // x [b, t, d] → rotated queries and keys, and values, each [b, heads, t, headDim] (cos/sin: the positions of x);
  std::tuple<at::Tensor, at::Tensor, at::Tensor> project(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);
  // attended values [b, heads, t, headDim] → the layer's output [b, t, d].
  at::Tensor output(const at::Tensor& attended);
  // Causal attention of q, k, v [b, heads, t, headDim] and the output projection → [b, t, d].
  at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  int64_t headDim() const { return headDim_; }

 private:
  int64_t nHeads_, headDim_;
  bool fused_;
};
TORCH_MODULE(LlamaAttention);

class LlamaMlpImpl : public torch::nn::Module {
 public:
  LlamaMlpImpl(int64_t dModel, int64_t intermediate);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(LlamaMlp);

class LlamaDecoderLayerImpl : public torch::nn::Module {
 public:
  explicit LlamaDecoderLayerImpl(const ModelConfig& config);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);
  // The next m positions of a decoding session (x: [b, m, d]); the attention reads the state's key/value cache.
  at::Tensor decode(const at::Tensor& x, MixingState& state);
  // forward on a deferred residual: (stream, pending) → (stream', pending'), where pending (undefined before the
  // first layer) is the previous layer's feed-forward output not yet added to the float32 stream. Each add runs
  // inside the norm that follows it (residualRmsNorm). For fused layers that keep their activations.
  std::pair<at::Tensor, at::Tensor> forwardDeferred(const at::Tensor& stream, const at::Tensor& pending, const at::Tensor& cos,
                                                    const at::Tensor& sin);
  bool defersResidual() const { return fused_; }
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  LlamaAttention self_attn{nullptr};
  LlamaMlp mlp{nullptr};

 private:
  // RMSNorm before the attention, and x + MLP(RMSNorm(x)): fused or through the modules.
  at::Tensor attentionInput(const at::Tensor& x);
  at::Tensor feedForward(const at::Tensor& x);
  // down(silu(gate(h))·up(h)) with the fused SwiGLU.
  at::Tensor fusedMlp(const at::Tensor& h);
  bool fused_;
  double eps_;
};
TORCH_MODULE(LlamaDecoderLayer);

// A Llama stack's final norm on h: one kernel when fused, the module otherwise.
at::Tensor llamaFinalNorm(RMSNormImpl& norm, const at::Tensor& h, bool fused, double eps);

// Layers [0, count) of a Llama stack on the residual stream x, then the stack's final norm when one is given (fused
// when the layers are). Layers that defer their residual adds hand each other the stream and their last sublayer's
// output; with no norm after the last layer the sum is formed here.
at::Tensor runLlamaLayers(torch::nn::ModuleListImpl& layers, int64_t count, const at::Tensor& x, const at::Tensor& cos,
                          const at::Tensor& sin, RMSNormImpl* norm, bool fused, double eps);

// The "model." prefix of the Hugging Face names.
class LlamaBodyImpl : public torch::nn::Module {
 public:
  explicit LlamaBodyImpl(const ModelConfig& config);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(LlamaBody);

class LlamaLM : public LanguageModel, public CachedDecoding {
 public:
  explicit LlamaLM(const ModelConfig& config);
  Hidden hiddenStates(const at::Tensor& tokens) override;
  at::Tensor outputWeight() override { return lm_head->weight; }
  at::Tensor inputEmbedding() override;
  // The last layer's output goes through the final norm, as Hugging Face's last hidden state does.
  at::Tensor hiddenFromEmbeddings(const at::Tensor& embeddings, int64_t layers) override;

  // Decoding with a key/value cache per layer (models/llama_decoding.cpp).
  MixingStates newMixingStates(int64_t batch) override;
  Hidden decodeHidden(const at::Tensor& tokens, MixingStates& states) override;
  const char* contextReason() const override { return "the transformer decodes at most the context it was built for"; }

 private:
  // The norm after the last layer, fused or through the module.
  at::Tensor finalNorm(const at::Tensor& x);

  LlamaBody model{nullptr};
  torch::nn::Linear lm_head{nullptr};
};

// Rotary tables (Hugging Face's convention: the two halves of each head are rotated as pairs).
std::pair<at::Tensor, at::Tensor> rotaryTables(int64_t length, int64_t headDim, double theta, const at::TensorOptions& options);
// x: [b, h, t, headDim] → x rotated by position.
at::Tensor applyRotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace maskmix
