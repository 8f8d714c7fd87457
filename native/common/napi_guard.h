// Turns every failure inside a synchronous binding into a JavaScript Error with a `code` property.
#pragma once

#include <napi.h>

#include "common/error.h"

namespace maskmix {

inline Napi::Error makeJsError(Napi::Env env, const ErrorInfo& info) {
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
