// Turns every failure inside a synchronous binding into a JavaScript Error with a `code` property.
#pragma once

#include <napi.h>

#include "common/error.h"

namespace maskmix {

// The JS class errors are made of (lib/errors.ts registers MaskmixError through setErrorClass), kept per
// environment so worker threads each have their own.
struct AddonData {
  Napi::FunctionReference errorClass;
};

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
