// Conversions between JavaScript typed arrays and at::Tensor, with the dtype names the TypeScript layer uses.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <string>
#include <vector>

namespace maskmix {

// 'float32', 'float64', 'bfloat16', 'float16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'.
std::string dtypeName(at::ScalarType type);
at::ScalarType dtypeFromName(const std::string& name);

// Copies a typed array into a new CPU tensor of `shape`. `dtype` may be empty (taken from the array type) or
// name a dtype stored in that array type (bfloat16/float16 live in a Uint16Array, bool in a Uint8Array).
at::Tensor tensorFromTypedArray(const Napi::TypedArray& array, const std::vector<int64_t>& shape, const std::string& dtype);

// Copies a tensor (any device) into a new typed array of the matching type.
Napi::Value typedArrayFromTensor(Napi::Env env, const at::Tensor& tensor);

std::vector<int64_t> shapeFromJs(const Napi::Value& value, const char* what);
Napi::Array shapeToJs(Napi::Env env, at::IntArrayRef shape);

// Reads an Int32Array of token ids into a [batch, length] int64 tensor, checking 0 <= id < vocab before any
// kernel sees it (an out-of-range id on CUDA would poison the whole context with a device assert).
at::Tensor tokensFromJs(const Napi::Value& value, int64_t batch, int64_t vocab, const char* what);

}  // namespace maskmix
