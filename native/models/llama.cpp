#include "models/llama.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/init.h>
#include <torch/utils.h>

#include <cmath>
#include <string>

#include "common/error.h"
#include "common/torch_compat.h"
#include "ops/llama_ops.h"

namespace maskmix {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) { weight = register_parameter("weight", torch::ones({dim})); }

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  // In float32 whatever the input dtype, as Hugging Face's LlamaRMSNorm does (float64 stays float64), back to the
  // input dtype after.
  at::Tensor xf = x.to(x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat);
  at::Tensor normed = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return weight * normed.to(x.scalar_type());
}

std::pair<at::Tensor, at::Tensor> rotaryTables(int64_t length, int64_t headDim, double theta, const at::TensorOptions& options) {
  auto f32 = options.dtype(at::kFloat);
  at::Tensor invFreq = at::pow(theta, at::arange(0, headDim, 2, f32).div(static_cast<double>(headDim))).reciprocal();
  at::Tensor freqs = at::outer(at::arange(length, f32), invFreq);
  at::Tensor emb = at::cat({freqs, freqs}, -1);
  return {emb.cos(), emb.sin()};
}

at::Tensor applyRotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  int64_t half = x.size(-1) / 2;
  at::Tensor rotated = at::cat({x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)}, -1);
  return (x * cos.to(x.scalar_type()) + rotated * sin.to(x.scalar_type()));
}

LlamaAttentionImpl::LlamaAttentionImpl(int64_t dModel, int64_t nHeads, bool fused)
    : nHeads_(nHeads), headDim_(dModel / nHeads), fused_(fused) {
  auto linear = [&](const char* name) { return register_module(name, torch::nn::Linear(torch::nn::LinearOptions(dModel, dModel).bias(false))); };
  q_proj = linear("q_proj");
  k_proj = linear("k_proj");
  v_proj = linear("v_proj");
  o_proj = linear("o_proj");
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> LlamaAttentionImpl::project(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  int64_t b = x.size(0), t = x.size(1);
  auto split = [&](const at::Tensor& y) { return y.view({b, t, nHeads_, headDim_}); };
  at::Tensor q, k;
  if (fused_) {
    // Rotate in the projections' own layout [b, t, h, hd] with one kernel; attention reads the transposed view.
    q = rotary(split(q_proj->forward(x)), cos, sin).transpose(1, 2);
    k = rotary(split(k_proj->forward(x)), cos, sin).transpose(1, 2);
  } else {
    q = applyRotary(split(q_proj->forward(x)).transpose(1, 2), cos, sin);
    k = applyRotary(split(k_proj->forward(x)).transpose(1, 2), cos, sin);
  }
  return {q, k, split(v_proj->forward(x)).transpose(1, 2)};
}

at::Tensor LlamaAttentionImpl::output(const at::Tensor& attended) {
  int64_t b = attended.size(0), t = attended.size(2);
  return o_proj->forward(attended.transpose(1, 2).reshape({b, t, nHeads_ * headDim_}));
}

at::Tensor LlamaAttentionImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  auto [q, k, v] = project(x, cos, sin);
  return attend(q, k, v);
}

at::Tensor LlamaAttentionImpl::attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  int64_t t = q.size(2);
#if MASKMIX_TORCH_AT_LEAST(2, 0)
  // Flash / memory-efficient attention where the GPU and dtype allow.
  at::Tensor out = at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, /*is_causal=*/true);
#else
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)).div(std::sqrt(static_cast<double>(headDim_)));
  at::Tensor future = at::ones({t, t}, q.options().dtype(at::kBool)).triu(1);
  at::Tensor out = at::matmul(at::softmax(scores.masked_fill(future, -INFINITY), -1), v);
#endif
  return output(out);
}

LlamaMlpImpl::LlamaMlpImpl(int64_t dModel, int64_t intermediate) {
  gate_proj = register_module("gate_proj", torch::nn::Linear(torch::nn::LinearOptions(dModel, intermediate).bias(false)));
  up_proj = register_module("up_proj", torch::nn::Linear(torch::nn::LinearOptions(dModel, intermediate).bias(false)));
  down_proj = register_module("down_proj", torch::nn::Linear(torch::nn::LinearOptions(intermediate, dModel).bias(false)));
}

at::Tensor LlamaMlpImpl::forward(const at::Tensor& x) {
  return down_proj->forward(torch::nn::functional::silu(gate_proj->forward(x)) * up_proj->forward(x));
}

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const ModelConfig& c)
    : fused_(c.fused), eps_(c.normEps) {
  int64_t intermediate = c.intermediateSize > 0 ? c.intermediateSize : 4 * c.dModel;
  self_attn = register_module("self_attn", LlamaAttention(c.dModel, c.nHeads, c.fused));
  mlp = register_module("mlp", LlamaMlp(c.dModel, intermediate));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.dModel, c.normEps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.dModel, c.normEps));
}

// Fused: norms write the compute dtype directly (key/value-cache decoding and the saving forward use this).
at::Tensor LlamaDecoderLayerImpl::attentionInput(const at::Tensor& x) {
  if (!fused_) return input_layernorm->forward(x);
  return rmsNorm(x, input_layernorm->weight, eps_, compat::computeDtypeFor(x));
}

at::Tensor LlamaDecoderLayerImpl::feedForward(const at::Tensor& x) {
  if (!fused_) return x + mlp->forward(post_attention_layernorm->forward(x));
  at::Tensor h = rmsNorm(x, post_attention_layernorm->weight, eps_, compat::computeDtypeFor(x));
  return x + fusedMlp(h);
}

at::Tensor LlamaDecoderLayerImpl::forward(const at::Tensor& input, const at::Tensor& cos, const at::Tensor& sin) {
  return feedForward(input + self_attn->forward(attentionInput(input), cos, sin));
}

at::Tensor LlamaDecoderLayerImpl::fusedMlp(const at::Tensor& h) {
  return swigluDown(mlp->gate_proj->forward(h), mlp->up_proj->forward(h), mlp->down_proj->weight);
}

std::pair<at::Tensor, at::Tensor> LlamaDecoderLayerImpl::forwardDeferred(const at::Tensor& stream, const at::Tensor& pending,
                                                                          const at::Tensor& cos, const at::Tensor& sin) {
  at::ScalarType dtype = compat::computeDtypeFor(stream);
  auto [sum, normed] = pending.defined() ? residualRmsNorm(stream, pending, input_layernorm->weight, eps_, dtype)
                                         : std::pair<at::Tensor, at::Tensor>{stream, attentionInput(stream)};
  auto [afterAttention, h] = residualRmsNorm(sum, self_attn->forward(normed, cos, sin), post_attention_layernorm->weight, eps_, dtype);
  return {afterAttention, fusedMlp(h)};
}

at::Tensor runLlamaLayers(torch::nn::ModuleListImpl& layers, int64_t count, const at::Tensor& x, const at::Tensor& cos,
                          const at::Tensor& sin, RMSNormImpl* norm, bool fused, double eps) {
  auto layer = [&](int64_t i) { return layers[i]->as<LlamaDecoderLayer>(); };
  if (count == 0 || !layer(0)->defersResidual()) {
    at::Tensor h = x;
    for (int64_t i = 0; i < count; ++i) h = layer(i)->forward(h, cos, sin);
    if (norm == nullptr) return h;
    return llamaFinalNorm(*norm, h, fused, eps);
  }
  at::Tensor stream = x, pending;
  for (int64_t i = 0; i < count; ++i) std::tie(stream, pending) = layer(i)->forwardDeferred(stream, pending, cos, sin);
  if (norm == nullptr) return stream + pending;
  return residualRmsNorm(stream, pending, norm->weight, eps, compat::computeDtypeFor(stream)).second;
}

LlamaBodyImpl::LlamaBodyImpl(const ModelConfig& c) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocabSize, c.dModel));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.nLayers; ++i) layers->push_back(LlamaDecoderLayer(c));
  norm = register_module("norm", RMSNorm(c.dModel, c.normEps));
}

LlamaLM::LlamaLM(const ModelConfig& config) : LanguageModel(config) {
  require(config.nHeads > 0 && config.dModel % config.nHeads == 0 && (config.dModel / config.nHeads) % 2 == 0,
          "llama needs nHeads dividing dModel into heads of even width", "CONFIG_INVALID");
  model = register_module("model", LlamaBody(config));
  lm_head = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(config.dModel, config.vocabSize).bias(false)));
  // Hugging Face's Llama initialisation: N(0, 0.02) for every projection and the embedding; norms start at 1.
  torch::NoGradGuard noGrad;
  for (auto& item : named_parameters(true)) {
    if (item.key().find("layernorm") == std::string::npos && item.key().find("norm.weight") == std::string::npos) item.value().normal_(0.0, 0.02);
  }
}

LanguageModel::Hidden LlamaLM::hiddenStates(const at::Tensor& tokens) {
  at::Tensor x = model->embed_tokens->forward(tokens);
  int64_t headDim = config_.dModel / config_.nHeads;
  auto [cos, sin] = rotaryTables(tokens.size(1), headDim, config_.ropeTheta, x.options());
  return {runLlamaLayers(*model->layers, config_.nLayers, x, cos, sin, model->norm.get(), config_.fused, config_.normEps), false};
}

at::Tensor LlamaLM::inputEmbedding() { return model->embed_tokens->weight; }

at::Tensor LlamaLM::hiddenFromEmbeddings(const at::Tensor& embeddings, int64_t layers) {
  auto [cos, sin] = rotaryTables(embeddings.size(1), config_.dModel / config_.nHeads, config_.ropeTheta, embeddings.options());
  return runLlamaLayers(*model->layers, layers, embeddings, cos, sin, layers == config_.nLayers ? model->norm.get() : nullptr,
                        config_.fused, config_.normEps);
}

at::Tensor llamaFinalNorm(RMSNormImpl& norm, const at::Tensor& h, bool fused, double eps) {
  return fused ? rmsNorm(h, norm.weight, eps, compat::computeDtypeFor(h)) : norm.forward(h);
}

at::Tensor LlamaLM::finalNorm(const at::Tensor& x) { return llamaFinalNorm(*model->norm, x, config_.fused, config_.normEps); }

}  // namespace maskmix
