// The JavaScript `Tensor` handle: owns one at::Tensor. dispose() frees it at once; otherwise the garbage
// collector's finalizer frees it. External memory is reported to V8 so large tensors prompt collection.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

namespace maskmix {

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  // Wraps `tensor` in a new JS Tensor object.
  static Napi::Object wrap(Napi::Env env, at::Tensor tensor);
  // The tensor inside a JS Tensor handle; fails with DISPOSED or INVALID_ARGUMENT.
  static at::Tensor unwrap(const Napi::Value& value, const char* what);

  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;
  // Called by the garbage collector's finalizer with a live env: give back the memory we reported.
  void Finalize(Napi::Env env) override;

 private:
  Napi::Value shape(const Napi::CallbackInfo& info);
  Napi::Value dtype(const Napi::CallbackInfo& info);
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  Napi::Value toTypedArray(const Napi::CallbackInfo& info);
  Napi::Value to(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  void setTensor(Napi::Env env, at::Tensor tensor);
  const at::Tensor& live(const char* what) const;

  at::Tensor tensor_;
  int64_t reportedBytes_ = 0;
};

}  // namespace maskmix
