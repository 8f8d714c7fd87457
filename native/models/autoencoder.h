// The masked-mixer autoencoder of the paper (§5.3, Figure 8; SPEC §4): an encoder stack of masked mixer blocks
// reads the sequence, the last position's final state is the sequence's embedding, and a decoder stack of masked
// mixer blocks regenerates every input token from it. Two ways to feed the decoder:
//   plain   the embedding repeated at every position: position i's output must recover token i from the
//           embedding alone (the decoder's causal mixing only tells positions apart);
//   memory  the embedding as the first position, then the input's own tokens shifted right by one: a causal
//           language model conditioned on the embedding (position i sees the embedding and tokens < i).
// Either way position i predicts token i (targetOffset 0), not token i+1. Parameter names:
//   wte → encoder.i.{seq_layernorm, conv, patch_layernorm, patch_ff.{0,2}} → decoder.i.{…} → lm_head
// blocks "llama" builds both stacks from Llama decoder layers instead (the paper's transformer autoencoder: Hugging
// Face LlamaModel stacks without their own token embedding or head), batch-major:
//   wte → encoder.{layers.i.{self_attn, mlp, input_layernorm, post_attention_layernorm}, norm}
//       → decoder.{embed_positions (plain only), layers.i.{…}, norm} → lm_head
// The plain decoder adds learned absolute positions to the repeated embedding: attention over identical inputs
// returns the same value at every position (rotary positions only reweight identical values), so without them
// every position would predict the same token. The memory decoder's inputs differ by position and need none.
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include "models/language_model.h"
#include "models/llama.h"

namespace maskmix {

// A stack of Llama decoder layers and its final norm (Hugging Face's LlamaModel without embed_tokens), with
// learned absolute positions added to its input when `positions`.
class LlamaStackImpl : public torch::nn::Module {
 public:
  LlamaStackImpl(const ModelConfig& config, bool positions);
  // x: [b, t, d] → the final-norm output [b, t, d].
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Embedding embed_positions{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};

 private:
  ModelConfig config_;
};
TORCH_MODULE(LlamaStack);

class MixerAutoencoderLM : public LanguageModel {
 public:
  explicit MixerAutoencoderLM(const ModelConfig& config);
  // The decoder's final states, token-major [t, b, d] (mixer blocks) or batch-major [b, t, d] (llama blocks);
  // position i predicts tokens[:, i].
  Hidden hiddenStates(const at::Tensor& tokens) override;
  at::Tensor outputWeight() override { return lm_head->weight; }
  int64_t targetOffset() const override { return 0; }
  void afterLoad() override;
  // The encoder's embedding of each sequence: the last position's final encoder state, [b, d].
  at::Tensor encode(const at::Tensor& tokens);

 private:
  torch::nn::Embedding wte{nullptr};
  torch::nn::ModuleList encoder{nullptr}, decoder{nullptr};
  LlamaStack llamaEncoder{nullptr}, llamaDecoder{nullptr};  // blocks "llama" (registered as encoder, decoder)
  torch::nn::Linear lm_head{nullptr};
  bool memory_ = false;
  bool llama_ = false;
};

}  // namespace maskmix
