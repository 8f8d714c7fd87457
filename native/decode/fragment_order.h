// The layout the fused decoding kernels' tensor-core products read a bf16 matrix in (kernels.h
// DecodeWeights::BFloat16Fragments): each 256 values of a row reordered so that one lane's 16-byte load is its
// operands of two m16n8k16 MMAs (repeat_decode.cu, fragmentWord and the products loop of gemvBlock).
#pragma once

#include <ATen/ATen.h>

namespace maskmix {

// Values per reordered tile: 16 chunks of 16.
constexpr int64_t kFragmentTile = 256;

// A [rows, K] matrix (K % 256 == 0) reordered within each 256 values of a row: value
// e = 128·chunkHalf + 16·g + 8·valueHalf + 2·t + pair (chunk 8·chunkHalf + g, value 8·valueHalf + 2t + pair of it)
// moves to 8·(4g + t) + 4·valueHalf + 2·chunkHalf + pair, where lane 4g + t's load reads it. Any dtype; contiguous.
at::Tensor fragmentOrder(const at::Tensor& matrix);

}  // namespace maskmix
