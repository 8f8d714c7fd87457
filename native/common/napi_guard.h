// Turns every failure inside a synchronous binding into a JavaScript Error with a `code` property.
#pragma once

#include <napi.h>

#include <typeindex>
#include <typeinfo>
#include <unordered_map>

#include "common/error.h"

namespace maskmix {

// A wrap class's constructor and the private token that lets native code make its instances (wrap_base.h,
// tensor_wrap.cpp).
struct PrivateClass {
  Napi::FunctionReference constructor;
  Napi::ObjectReference token;
};

// What the addon keeps per environment, so worker threads each have their own (a process-wide reference would
// point into whichever environment registered last, and dangle once that thread exits): the JS class errors are
// made of (lib/errors.ts registers MaskmixError through setErrorClass) and each wrap class, by C++ type.
struct AddonData {
  Napi::FunctionReference errorClass;
  std::unordered_map<std::type_index, PrivateClass> classes;
};

// Registers wrap class `Wrap`'s constructor in this environment and makes its token.
template <typename Wrap>
void rememberPrivateClass(Napi::Env env, Napi::Function cls) {
  PrivateClass& entry = env.GetInstanceData<AddonData>()->classes[std::type_index(typeid(Wrap))];
  entry.constructor = Napi::Persistent(cls);
  entry.token = Napi::Persistent(Napi::Object::New(env));
}

// Wrap class `Wrap` as this environment registered it (init registers every class before any call).
template <typename Wrap>
PrivateClass& privateClass(Napi::Env env) {
  return env.GetInstanceData<AddonData>()->classes.at(std::type_index(typeid(Wrap)));
}

inline Napi::Error makeJsError(Napi::Env env, const ErrorInfo& info) {
  AddonData* data = env.GetInstanceData<AddonData>();
  if (data != nullptr && !data->errorClass.IsEmpty()) {
    Napi::Value made = data->errorClass.New({Napi::String::New(env, info.code), Napi::String::New(env, info.message)});
    if (!env.IsExceptionPending() && made.IsObject()) return Napi::Error(env, made);
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
  }
  Napi::Error error = Napi::Error::New(env, info.message);
  error.Set("code", Napi::String::New(env, info.code));
  return error;
}

// Runs `body`; anything it throws is rethrown as a Napi::Error, which node-addon-api's callback wrapper turns
// into a pending JavaScript exception before returning to Node.
template <typename Body>
auto guard(Napi::Env env, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw makeJsError(env, describeCurrentException());
  }
}

}  // namespace maskmix
