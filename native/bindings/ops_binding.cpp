#include "bindings/ops_binding.h"

#include <torch/utils.h>
#include <torch/autograd.h>

#include "common/napi_guard.h"
#include "ops/masked_mixing.h"
#include "train/linear_cross_entropy.h"
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

// linearCrossEntropy(hidden, weight, targets, ignoreIndex, chunkRows?): { loss, targets, gradHidden, gradWeight }
// — the fused output projection + cross-entropy and its gradients, on small tensors (tests compare it with a
// plain computation and with finite differences).
Napi::Value linearCrossEntropyOp(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    at::Tensor h = TensorWrap::unwrap(info[0], "hidden").detach().requires_grad_(true);
    at::Tensor w = TensorWrap::unwrap(info[1], "weight").detach().requires_grad_(true);
    at::Tensor t = TensorWrap::unwrap(info[2], "targets").to(at::kLong);
    require(info.Length() > 3 && info[3].IsNumber(), "ignoreIndex must be a number");
    int64_t ignore = info[3].As<Napi::Number>().Int64Value();
    int64_t chunk = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().Int64Value() : 0;
    LinearCrossEntropy out = linearCrossEntropy(h, w, t, ignore, chunk);
    auto grads = torch::autograd::grad({out.loss}, {h, w});
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("loss", out.loss.item<double>());
    o.Set("targets", static_cast<double>(out.targets.item<int64_t>()));
    o.Set("gradHidden", TensorWrap::wrap(info.Env(), grads[0]));
    o.Set("gradWeight", TensorWrap::wrap(info.Env(), grads[1]));
    return o;
  });
}

}  // namespace

void defineOps(Napi::Env env, Napi::Object exports) {
  exports.Set("maskedMixing", Napi::Function::New(env, maskedMixingForward, "maskedMixing"));
  exports.Set("maskedMixingBackward", Napi::Function::New(env, maskedMixingBackward, "maskedMixingBackward"));
  exports.Set("linearCrossEntropy", Napi::Function::New(env, linearCrossEntropyOp, "linearCrossEntropy"));
}

}  // namespace maskmix
