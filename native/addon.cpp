// Entry point of the maskmix addon: registers the classes and functions lib/native.ts wraps.
#include <napi.h>

#include "bindings/decoder_wrap.h"
#include "bindings/model_wrap.h"
#include "bindings/ops_binding.h"
#include "bindings/process_group_wrap.h"
#include "bindings/retrieval_wrap.h"
#include "bindings/runtime_binding.h"
#include "bindings/trainer_wrap.h"
#include "common/napi_guard.h"
#include "tensor/tensor_wrap.h"

namespace maskmix {

// setErrorClass(cls): native failures are thrown as `new cls(code, message)` from then on.
Napi::Value setErrorClass(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    require(info.Length() == 1 && info[0].IsFunction(), "setErrorClass(cls: Function)");
    info.Env().GetInstanceData<AddonData>()->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
    return info.Env().Undefined();
  });
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("setErrorClass", Napi::Function::New(env, setErrorClass, "setErrorClass"));
  exports.Set("Tensor", TensorWrap::define(env));
  exports.Set("Model", ModelWrap::define(env));
  exports.Set("Trainer", TrainerWrap::define(env));
  exports.Set("Decoder", DecoderWrap::define(env));
  exports.Set("createModel", Napi::Function::New(env, ModelWrap::create, "createModel"));
  exports.Set("ProcessGroup", ProcessGroupWrap::define(env));
  exports.Set("createProcessGroup", Napi::Function::New(env, ProcessGroupWrap::create, "createProcessGroup"));
  exports.Set("distributedBackends", Napi::Function::New(env, distributedBackends, "distributedBackends"));
  exports.Set("RetrievalModel", RetrievalModelWrap::define(env));
  exports.Set("RetrievalTrainer", RetrievalTrainerWrap::define(env));
  exports.Set("createRetrievalModel", Napi::Function::New(env, RetrievalModelWrap::create, "createRetrievalModel"));
  defineOps(env, exports);
  defineRuntime(env, exports);
  exports.Set("addonVersion", Napi::String::New(env, MASKMIX_VERSION));
  return exports;
}

}  // namespace maskmix

// NODE_API_MODULE pastes the function name into an identifier, so it needs an unqualified one.
static Napi::Object initMaskmix(Napi::Env env, Napi::Object exports) { return maskmix::init(env, exports); }

NODE_API_MODULE(maskmix, initMaskmix)
