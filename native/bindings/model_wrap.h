// The JavaScript `Model` class: a language model living in libtorch, driven through async calls.
#pragma once

#include <napi.h>

#include <memory>

#include "bindings/model_handle.h"
#include "bindings/wrap_base.h"

namespace maskmix {

class ModelWrap : public PrivatelyConstructed<ModelWrap, std::shared_ptr<ModelHandle>> {
 public:
  static Napi::Function define(Napi::Env env);
  static std::shared_ptr<ModelHandle> unwrap(const Napi::Value& value, const char* what);
  // createModel(config): Promise<Model>
  static Napi::Value create(const Napi::CallbackInfo& info);

  explicit ModelWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value forward(const Napi::CallbackInfo& info);
  Napi::Value logProbs(const Napi::CallbackInfo& info);
  Napi::Value evalLoss(const Napi::CallbackInfo& info);
  Napi::Value lossGradients(const Napi::CallbackInfo& info);
  Napi::Value embed(const Napi::CallbackInfo& info);
  Napi::Value nextToken(const Napi::CallbackInfo& info);
  Napi::Value stateDict(const Napi::CallbackInfo& info);
  Napi::Value loadStateDict(const Napi::CallbackInfo& info);
  Napi::Value numParameters(const Napi::CallbackInfo& info);
  Napi::Value config(const Napi::CallbackInfo& info);
  Napi::Value cachedDecoding(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value invert(const Napi::CallbackInfo& info);
  Napi::Value multiTokenLosses(const Napi::CallbackInfo& info);

  std::shared_ptr<ModelHandle> handle_;
};

}  // namespace maskmix
