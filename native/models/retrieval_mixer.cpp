#include "models/retrieval_mixer.h"

#include <torch/nn/modules/activation.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <cmath>

#include "common/error.h"
#include "models/model_init.h"
#include "ops/prenorm_sublayers.h"

namespace maskmix {

FullMixingImpl::FullMixingImpl(int64_t context) {
  // PyTorch's Conv1d default: U(±1/√fan_in), fan_in = c.
  double bound = 1.0 / std::sqrt(static_cast<double>(context));
  weight = register_parameter("weight", torch::empty({context, context, 1}).uniform_(-bound, bound));
  bias = register_parameter("bias", torch::empty({context}).uniform_(-bound, bound));
}

RetrievalBlockImpl::RetrievalBlockImpl(int64_t dModel, int64_t context, int64_t ffMultiplier) {
  seq_layernorm = register_module("seq_layernorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dModel})));
  conv = register_module("conv", FullMixing(context));
  patch_layernorm = register_module("patch_layernorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dModel})));
  patch_ff = register_module("patch_ff", torch::nn::Sequential(torch::nn::Linear(dModel, ffMultiplier * dModel), torch::nn::GELU(),
                                                               torch::nn::Linear(ffMultiplier * dModel, dModel)));
}

at::Tensor RetrievalBlockImpl::forward(const at::Tensor& input) {
  // The masked mixer's fused sublayers, with the mixing matrix unmasked.
  at::Tensor x = mixSublayer(input, seq_layernorm->weight, seq_layernorm->bias, seq_layernorm->options.eps(), conv->weight.select(2, 0),
                             conv->bias, /*causal=*/false);
  auto* up = (*patch_ff)[0]->as<torch::nn::Linear>();
  auto* down = (*patch_ff)[2]->as<torch::nn::Linear>();
  return feedForwardSublayer(x, patch_layernorm->weight, patch_layernorm->bias, patch_layernorm->options.eps(), up->weight, up->bias,
                             down->weight, down->bias);
}

RetrievalMixer::RetrievalMixer(RetrievalMixerConfig config) : config_(std::move(config)) {
  mixerblocks = register_module("mixerblocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < config_.nLayers; ++i) mixerblocks->push_back(RetrievalBlock(config_.dModel, config_.context, config_.ffMultiplier));
  retrieval_head = register_module("retrieval_head", torch::nn::Linear(config_.dModel, 1));
}

at::Tensor RetrievalMixer::logits(const at::Tensor& inputs) {
  int64_t c = config_.context;
  require(inputs.dim() == 3 && inputs.size(1) == c && inputs.size(2) == config_.dModel,
          "retrieval inputs must be [batch, " + std::to_string(c) + ", " + std::to_string(config_.dModel) + "] (query, then " +
              std::to_string(c - 1) + " candidates, each a " + std::to_string(config_.dModel) + "-wide embedding)",
          "SHAPE_MISMATCH");
  // Position-major [c, b, d]: the mixing is then one GEMM, [c, c] · [c, b·d].
  at::Tensor x = inputs.transpose(0, 1).contiguous();
  for (const auto& block : *mixerblocks) x = block->as<RetrievalBlock>()->forward(x);
  at::Tensor candidates = x.narrow(0, 1, c - 1);
  return retrieval_head->forward(candidates).squeeze(-1).t();  // [c − 1, b, 1] → [b, c − 1]
}

std::shared_ptr<RetrievalMixer> buildRetrievalMixer(const RetrievalMixerConfig& config) {
  require(config.dModel > 0 && config.nLayers > 0 && config.ffMultiplier > 0, "dModel, nLayers and ffMultiplier must be positive", "CONFIG_INVALID");
  require(config.context >= 2, "context must be at least 2 (the query and one candidate)", "CONFIG_INVALID");
  require(config.dtype == "float32" || config.dtype == "float64", "dtype must be float32 or float64", "CONFIG_INVALID");
  requireDeviceAvailable(config.device);
  at::Device device(config.device);
  std::shared_ptr<RetrievalMixer> model;
  {
    std::lock_guard<std::mutex> lock(weightInitMutex());  // the language models' lock: one global generator
    torch::manual_seed(config.seed);
    model = std::make_shared<RetrievalMixer>(config);
  }
  model->to(device, config.dtype == "float64" ? at::kDouble : at::kFloat);
  return model;
}

at::Tensor retrievalLoss(const at::Tensor& logits, const at::Tensor& labels) {
  at::Tensor wide = logits.scalar_type() == at::kDouble ? logits : logits.to(at::kFloat);
  return at::cross_entropy_loss(wide, labels - 1);  // position m is class m − 1: the query has no class
}

void checkRetrievalLabels(const at::Tensor& labels, int64_t context) {
  require(labels.dim() == 1, "labels must be one position per sample", "SHAPE_MISMATCH");
  if (labels.numel() == 0) return;
  int64_t low = labels.min().item<int64_t>(), high = labels.max().item<int64_t>();
  require(low >= 1 && high <= context - 1,
          "labels are the match's position, 1 … " + std::to_string(context - 1) + " (position 0 is the query), got " +
              std::to_string(low < 1 ? low : high),
          "INVALID_ARGUMENT");
}

}  // namespace maskmix
