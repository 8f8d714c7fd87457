// A weight matrix as the fused decoding kernels read it, made once when a decode step (or the GEMV probe) is built.
#pragma once

#include <ATen/ATen.h>

#include "kernels/decode_weights.h"

namespace maskmix {

struct DecodeMatrix {
  at::Tensor values;  // what RepeatDecodeGemv::weight points at, contiguous on the weight's device
  at::Tensor scales;  // Int8 only: float32 [rows], RepeatDecodeGemv::weightScales; else undefined
};

// weight [rows, K] float32 in `format`: Float32 the parameter's own storage (no copy when it is contiguous, so the
// kernels read the live parameter), BFloat16 a bf16 copy, BFloat16Fragments that copy in fragment order
// (decode/fragment_order.h), Int8 values and row scales (decode/quantized_rows.h).
DecodeMatrix decodeMatrix(const at::Tensor& weight, kernels::DecodeWeights format);

// The second matrix of a split-output GEMV (kernels.h RepeatDecodeGemv::splitWeight): weight [out, in] float32, `in`
// a whole number of blocks of rowsPerBlock columns (rowsPerBlock % 8 == 0), in bf16 (format BFloat16) or float32
// (Float32), eight columns of one output row together: [in / rowsPerBlock, rowsPerBlock / 8, out, 8] (block b's
// columns), or with `grouped` (RepeatDecodeGemv::splitVector, out % 4 == 0) [in / rowsPerBlock, rowsPerBlock / 8, 4,
// out / 4, 8], output 4g + i at [.., .., i, g].
at::Tensor splitColumns(const at::Tensor& weight, int64_t rowsPerBlock, kernels::DecodeWeights format, bool grouped);

}  // namespace maskmix
