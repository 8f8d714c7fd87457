// Typed reads of fields from a JavaScript options object, with errors that name the field.
#pragma once

#include <napi.h>

#include <cmath>
#include <string>

#include "common/error.h"

namespace maskmix {

inline bool hasField(const Napi::Object& obj, const char* key) {
  return obj.Has(key) && !obj.Get(key).IsUndefined() && !obj.Get(key).IsNull();
}

inline double numberField(const Napi::Object& obj, const char* key, double fallback) {
  if (!hasField(obj, key)) return fallback;
  Napi::Value v = obj.Get(key);
  require(v.IsNumber(), std::string(key) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  require(std::isfinite(d), std::string(key) + " must be finite");
  return d;
}

inline int64_t integerField(const Napi::Object& obj, const char* key, int64_t fallback) {
  double d = numberField(obj, key, static_cast<double>(fallback));
  require(d == std::floor(d) && std::fabs(d) < 9.0e15, std::string(key) + " must be an integer");
  return static_cast<int64_t>(d);
}

inline bool booleanField(const Napi::Object& obj, const char* key, bool fallback) {
  if (!hasField(obj, key)) return fallback;
  Napi::Value v = obj.Get(key);
  require(v.IsBoolean(), std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

inline std::string stringField(const Napi::Object& obj, const char* key, const std::string& fallback) {
  if (!hasField(obj, key)) return fallback;
  Napi::Value v = obj.Get(key);
  require(v.IsString(), std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

inline Napi::Object objectArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (info.Length() <= index || info[index].IsUndefined()) return Napi::Object::New(info.Env());
  require(info[index].IsObject(), std::string(what) + " must be an object");
  return info[index].As<Napi::Object>();
}

inline int64_t positiveIntegerArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  require(info.Length() > index && info[index].IsNumber(), std::string(what) + " must be a positive integer");
  double d = info[index].As<Napi::Number>().DoubleValue();
  require(d >= 1 && d == std::floor(d) && d < 9.0e15, std::string(what) + " must be a positive integer");
  return static_cast<int64_t>(d);
}

}  // namespace maskmix
