// Entry point of the maskmix addon: registers the classes and functions lib/native.ts wraps.
#include <napi.h>

#include "bindings/model_wrap.h"
#include "bindings/ops_binding.h"
#include "bindings/runtime_binding.h"
#include "bindings/trainer_wrap.h"
#include "tensor/tensor_wrap.h"

namespace maskmix {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("Tensor", TensorWrap::define(env));
  exports.Set("Model", ModelWrap::define(env));
  exports.Set("Trainer", TrainerWrap::define(env));
  exports.Set("createModel", Napi::Function::New(env, ModelWrap::create, "createModel"));
  defineOps(env, exports);
  defineRuntime(env, exports);
  exports.Set("addonVersion", Napi::String::New(env, MASKMIX_VERSION));
  return exports;
}

}  // namespace maskmix

// NODE_API_MODULE pastes the function name into an identifier, so it needs an unqualified one.
static Napi::Object initMaskmix(Napi::Env env, Napi::Object exports) { return maskmix::init(env, exports); }

NODE_API_MODULE(maskmix, initMaskmix)
