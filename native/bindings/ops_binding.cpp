#include "bindings/ops_binding.h"

#include <torch/utils.h>
#include <torch/autograd.h>

#include "common/napi_guard.h"
#include "ops/masked_mixing.h"
#include "tensor/tensor_wrap.h"

namespace maskmix {

namespace {

// maskedMixing(x, weight, bias): Tensor
Napi::Value maskedMixingForward(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    torch::NoGradGuard noGrad;
    at::Tensor y = maskedMixing(TensorWrap::unwrap(info[0], "x"), TensorWrap::unwrap(info[1], "weight"), TensorWrap::unwrap(info[2], "bias"));
    return TensorWrap::wrap(info.Env(), y);
  });
}

// maskedMixingBackward(x, weight, bias, gradOutput): { x, weight, bias } — the op's own backward, through autograd.
Napi::Value maskedMixingBackward(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    at::Tensor x = TensorWrap::unwrap(info[0], "x").detach().requires_grad_(true);
    at::Tensor w = TensorWrap::unwrap(info[1], "weight").detach().requires_grad_(true);
    at::Tensor b = TensorWrap::unwrap(info[2], "bias").detach().requires_grad_(true);
    at::Tensor gy = TensorWrap::unwrap(info[3], "gradOutput");
    at::Tensor y = maskedMixing(x, w, b);
    require(gy.sizes() == y.sizes(), "gradOutput must have the output's shape", "SHAPE_MISMATCH");
    auto grads = torch::autograd::grad({y}, {x, w, b}, {gy.to(y.scalar_type())});
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("x", TensorWrap::wrap(info.Env(), grads[0]));
    out.Set("weight", TensorWrap::wrap(info.Env(), grads[1]));
    out.Set("bias", TensorWrap::wrap(info.Env(), grads[2]));
    return out;
  });
}

}  // namespace

void defineOps(Napi::Env env, Napi::Object exports) {
  exports.Set("maskedMixing", Napi::Function::New(env, maskedMixingForward, "maskedMixing"));
  exports.Set("maskedMixingBackward", Napi::Function::New(env, maskedMixingBackward, "maskedMixingBackward"));
}

}  // namespace maskmix
