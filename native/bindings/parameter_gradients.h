#pragma once
// The lossGradients() bindings of every model class share this: clear the parameters' gradients, run one
// backward, then copy each parameter's gradient out by name (zeros where autograd left none) and clear it again,
// so the check leaves the model as it found it; the settled JS value is { loss, gradients: Record<name, Tensor> }.
#include <napi.h>
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor_wrap.h"

namespace maskmix {

using NamedGradients = std::vector<std::pair<std::string, at::Tensor>>;

inline void clearParameterGradients(torch::nn::Module& module) {
  for (auto& p : module.parameters()) p.mutable_grad() = at::Tensor();
}

inline NamedGradients takeParameterGradients(torch::nn::Module& module) {
  NamedGradients out;
  for (const auto& item : module.named_parameters(true)) {
    at::Tensor g = item.value().grad();
    out.emplace_back(item.key(), g.defined() ? g.detach().clone() : at::zeros_like(item.value()));
    item.value().mutable_grad() = at::Tensor();
  }
  return out;
}

inline Napi::Object lossGradientsToJs(Napi::Env env, double loss, const NamedGradients& grads) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("loss", loss);
  Napi::Object g = Napi::Object::New(env);
  for (const auto& [name, tensor] : grads) g.Set(name, TensorWrap::wrap(env, tensor));
  o.Set("gradients", g);
  return o;
}

}  // namespace maskmix
