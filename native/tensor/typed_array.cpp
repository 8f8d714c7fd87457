#include "tensor/typed_array.h"

#include <cstring>

#include "common/error.h"

namespace maskmix {

namespace {

struct DtypeEntry {
  const char* name;
  at::ScalarType type;
  napi_typedarray_type array;
};

const DtypeEntry kDtypes[] = {
    {"float32", at::kFloat, napi_float32_array},    {"float64", at::kDouble, napi_float64_array},
    {"bfloat16", at::kBFloat16, napi_uint16_array}, {"float16", at::kHalf, napi_uint16_array},
    {"int64", at::kLong, napi_bigint64_array},      {"int32", at::kInt, napi_int32_array},
    {"int16", at::kShort, napi_int16_array},        {"int8", at::kChar, napi_int8_array},
    {"uint8", at::kByte, napi_uint8_array},         {"bool", at::kBool, napi_uint8_array},
};

const DtypeEntry* entryForType(at::ScalarType type) {
  for (const auto& e : kDtypes)
    if (e.type == type) return &e;
  return nullptr;
}

// The dtype a typed array holds when the caller names none.
const DtypeEntry* entryForArray(napi_typedarray_type array) {
  for (const auto& e : kDtypes)
    if (e.array == array) return &e;  // first match: uint16 → bfloat16, uint8 → uint8
  return nullptr;
}

const char* arrayName(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_int32_array: return "Int32Array";
    case napi_int16_array: return "Int16Array";
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    default: return "an unsupported typed array";
  }
}

}  // namespace

std::string dtypeName(at::ScalarType type) {
  const DtypeEntry* e = entryForType(type);
  return e ? e->name : std::string(c10::toString(type));
}

at::ScalarType dtypeFromName(const std::string& name) {
  for (const auto& e : kDtypes)
    if (name == e.name) return e.type;
  fail("INVALID_ARGUMENT", "unknown dtype '" + name +
                               "' (expected float32, float64, bfloat16, float16, int64, int32, int16, int8, uint8 or bool)");
}

std::vector<int64_t> shapeFromJs(const Napi::Value& value, const char* what) {
  require(value.IsArray(), std::string(what) + " must be an array of non-negative integers");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value v = array.Get(i);
    require(v.IsNumber(), std::string(what) + "[" + std::to_string(i) + "] is not a number");
    double d = v.As<Napi::Number>().DoubleValue();
    require(d >= 0 && d == static_cast<double>(static_cast<int64_t>(d)),
            std::string(what) + "[" + std::to_string(i) + "] must be a non-negative integer");
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

Napi::Array shapeToJs(Napi::Env env, at::IntArrayRef shape) {
  Napi::Array out = Napi::Array::New(env, shape.size());
  for (size_t i = 0; i < shape.size(); ++i) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(shape[i])));
  return out;
}

at::Tensor tensorFromTypedArray(const Napi::TypedArray& array, const std::vector<int64_t>& shape, const std::string& dtype) {
  const DtypeEntry* entry = dtype.empty() ? entryForArray(array.TypedArrayType()) : nullptr;
  if (!dtype.empty()) {
    at::ScalarType type = dtypeFromName(dtype);
    entry = entryForType(type);
    require(entry->array == array.TypedArrayType(), "dtype " + dtype + " cannot be read from " +
                                                        arrayName(array.TypedArrayType()) + " (use " +
                                                        arrayName(entry->array) + ")", "DTYPE_MISMATCH");
  }
  require(entry != nullptr, std::string("cannot make a tensor from ") + arrayName(array.TypedArrayType()), "DTYPE_MISMATCH");
  int64_t numel = 1;
  for (int64_t s : shape) numel *= s;
  require(static_cast<size_t>(numel) == array.ElementLength(),
          "shape holds " + std::to_string(numel) + " elements but the array has " + std::to_string(array.ElementLength()),
          "SHAPE_MISMATCH");
  at::Tensor out = at::empty(shape, at::TensorOptions().dtype(entry->type));
  const uint8_t* data = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  if (numel > 0) std::memcpy(out.data_ptr(), data, array.ByteLength());
  return out;
}

Napi::Value typedArrayFromTensor(Napi::Env env, const at::Tensor& tensor) {
  const DtypeEntry* entry = entryForType(tensor.scalar_type());
  require(entry != nullptr, "tensors of dtype " + dtypeName(tensor.scalar_type()) + " cannot be copied to JavaScript", "DTYPE_MISMATCH");
  at::Tensor cpu = tensor.detach().to(at::kCPU).contiguous();
  size_t bytes = static_cast<size_t>(cpu.numel()) * cpu.element_size();
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, bytes);
  if (bytes > 0) std::memcpy(buffer.Data(), cpu.data_ptr(), bytes);
  size_t length = static_cast<size_t>(cpu.numel());
  switch (entry->array) {
    case napi_float32_array: return Napi::Float32Array::New(env, length, buffer, 0);
    case napi_float64_array: return Napi::Float64Array::New(env, length, buffer, 0);
    case napi_uint16_array: return Napi::Uint16Array::New(env, length, buffer, 0);
    case napi_bigint64_array: return Napi::BigInt64Array::New(env, length, buffer, 0);
    case napi_int32_array: return Napi::Int32Array::New(env, length, buffer, 0);
    case napi_int16_array: return Napi::Int16Array::New(env, length, buffer, 0);
    case napi_int8_array: return Napi::Int8Array::New(env, length, buffer, 0);
    default: return Napi::Uint8Array::New(env, length, buffer, 0);
  }
}

at::Tensor tokensFromJs(const Napi::Value& value, int64_t batch, int64_t vocab, const char* what) {
  require(value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array,
          std::string(what) + " must be an Int32Array of token ids", "DTYPE_MISMATCH");
  Napi::Int32Array ids = value.As<Napi::Int32Array>();
  size_t count = ids.ElementLength();
  require(batch > 0, "batch size must be positive");
  require(count > 0, std::string(what) + " is empty");
  require(count % static_cast<size_t>(batch) == 0,
          std::string(what) + " holds " + std::to_string(count) + " ids, not a multiple of the batch size " + std::to_string(batch),
          "SHAPE_MISMATCH");
  const int32_t* data = ids.Data();
  for (size_t i = 0; i < count; ++i) {
    if (data[i] < 0 || data[i] >= vocab) {
      fail("TOKEN_OUT_OF_RANGE", std::string(what) + "[" + std::to_string(i) + "] = " + std::to_string(data[i]) +
                                     " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
  }
  int64_t length = static_cast<int64_t>(count) / batch;
  at::Tensor out = at::empty({batch, length}, at::TensorOptions().dtype(at::kInt));
  std::memcpy(out.data_ptr(), data, count * sizeof(int32_t));
  return out.to(at::kLong);
}

}  // namespace maskmix
