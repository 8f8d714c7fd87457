#include "models/structured_block.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include "ops/prenorm_sublayers.h"

namespace maskmix {

StructuredBlockImpl::StructuredBlockImpl(const ModelConfig& c, const std::function<std::shared_ptr<StructuredMixing>()>& makeMixing)
    : fused_(c.fused) {
  seq_layernorm = register_module("seq_layernorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dModel})));
  mixing_ = register_module("mix", makeMixing());
  patch_layernorm = register_module("patch_layernorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dModel})));
  patch_ff = register_module("patch_ff", torch::nn::Sequential(torch::nn::Linear(c.dModel, c.ffMultiplier * c.dModel), torch::nn::GELU(),
                                                               torch::nn::Linear(c.ffMultiplier * c.dModel, c.dModel)));
}

at::Tensor StructuredBlockImpl::forward(const at::Tensor& input, MixingState* state, const at::Tensor& devicePosition) {
  at::Tensor normed = seq_layernorm->forward(input);
  at::Tensor mixed = state == nullptr             ? mixing_->forward(normed)
                     : devicePosition.defined()   ? state->stepOnDevice(normed, devicePosition)
                     : input.size(0) == 1         ? state->step(normed)
                                                  : state->prefill(normed);
  at::Tensor x = input + mixed;
  if (!fused_) return x + patch_ff->forward(patch_layernorm->forward(x));
  // The masked mixer's fused feed-forward sublayer (recomputes LayerNorm and GELU outputs in backward).
  auto* up = (*patch_ff)[0]->as<torch::nn::Linear>();
  auto* down = (*patch_ff)[2]->as<torch::nn::Linear>();
  return feedForwardSublayer(x, patch_layernorm->weight, patch_layernorm->bias, patch_layernorm->options.eps(), up->weight, up->bias,
                             down->weight, down->bias);
}

}  // namespace maskmix
