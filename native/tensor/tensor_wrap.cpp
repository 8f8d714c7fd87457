#include "tensor/tensor_wrap.h"

#include "common/napi_guard.h"
#include "tensor/typed_array.h"

namespace maskmix {

namespace {
// The class and the token the native side passes to the constructor when it wraps an existing tensor live in the
// environment's AddonData (one per worker thread); the tensor being wrapped is handed over per thread.
thread_local at::Tensor pendingWrap;

int64_t hostBytes(const at::Tensor& t) {
  return t.defined() && t.device().is_cpu() ? static_cast<int64_t>(t.numel()) * t.element_size() : 0;
}
}  // namespace

Napi::Function TensorWrap::define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "Tensor",
                                   {
                                       InstanceAccessor<&TensorWrap::shape>("shape"),
                                       InstanceAccessor<&TensorWrap::dtype>("dtype"),
                                       InstanceAccessor<&TensorWrap::device>("device"),
                                       InstanceAccessor<&TensorWrap::disposed>("disposed"),
                                       InstanceMethod<&TensorWrap::toTypedArray>("toTypedArray"),
                                       InstanceMethod<&TensorWrap::to>("to"),
                                       InstanceMethod<&TensorWrap::dispose>("dispose"),
                                   });
  rememberPrivateClass<TensorWrap>(env, cls);
  return cls;
}

Napi::Object TensorWrap::wrap(Napi::Env env, at::Tensor tensor) {
  pendingWrap = std::move(tensor);
  PrivateClass& cls = privateClass<TensorWrap>(env);
  Napi::Object obj = cls.constructor.New({cls.token.Value()});
  return obj;
}

at::Tensor TensorWrap::unwrap(const Napi::Value& value, const char* what) {
  require(value.IsObject() && value.As<Napi::Object>().InstanceOf(privateClass<TensorWrap>(value.Env()).constructor.Value()),
          std::string(what) + " must be a Tensor");
  return Unwrap(value.As<Napi::Object>())->live(what);
}

// new Tensor(typedArray, shape, dtype?) from JavaScript; the internal token form adopts pendingWrap.
TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  Napi::Env env = info.Env();
  guard(env, [&] {
    if (info.Length() == 1 && info[0].StrictEquals(privateClass<TensorWrap>(env).token.Value())) {
      setTensor(env, std::move(pendingWrap));
      pendingWrap = at::Tensor();
      return;
    }
    require(info.Length() >= 2 && info[0].IsTypedArray(), "new Tensor(data: TypedArray, shape: number[], dtype?: string)");
    std::string dtype = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
    setTensor(env, tensorFromTypedArray(info[0].As<Napi::TypedArray>(), shapeFromJs(info[1], "shape"), dtype));
  });
}

TensorWrap::~TensorWrap() { tensor_ = at::Tensor(); }

void TensorWrap::Finalize(Napi::Env env) {
  if (reportedBytes_ != 0) Napi::MemoryManagement::AdjustExternalMemory(env, -reportedBytes_);
  reportedBytes_ = 0;
}

void TensorWrap::setTensor(Napi::Env env, at::Tensor tensor) {
  int64_t bytes = hostBytes(tensor);
  Napi::MemoryManagement::AdjustExternalMemory(env, bytes - reportedBytes_);
  reportedBytes_ = bytes;
  tensor_ = std::move(tensor);
}

const at::Tensor& TensorWrap::live(const char* what) const {
  require(tensor_.defined(), std::string(what) + " was disposed", "DISPOSED");
  return tensor_;
}

Napi::Value TensorWrap::shape(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return shapeToJs(info.Env(), live("tensor").sizes()); });
}

Napi::Value TensorWrap::dtype(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::String::New(info.Env(), dtypeName(live("tensor").scalar_type())); });
}

Napi::Value TensorWrap::device(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::String::New(info.Env(), live("tensor").device().str()); });
}

Napi::Value TensorWrap::disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !tensor_.defined()); }

Napi::Value TensorWrap::toTypedArray(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return typedArrayFromTensor(info.Env(), live("tensor")); });
}

// tensor.to(dtype?, device?) → a new Tensor (the copy is small-work for the sizes JS code handles directly).
Napi::Value TensorWrap::to(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    at::Tensor t = live("tensor");
    at::ScalarType type = t.scalar_type();
    if (info.Length() > 0 && info[0].IsString()) type = dtypeFromName(info[0].As<Napi::String>().Utf8Value());
    at::Device device = t.device();
    if (info.Length() > 1 && info[1].IsString()) device = at::Device(info[1].As<Napi::String>().Utf8Value());
    return wrap(info.Env(), t.to(device, type, /*non_blocking=*/false, /*copy=*/true));
  });
}

Napi::Value TensorWrap::dispose(const Napi::CallbackInfo& info) {
  setTensor(info.Env(), at::Tensor());
  return info.Env().Undefined();
}

}  // namespace maskmix
