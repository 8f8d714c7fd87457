// Weight-only int8 quantisation of a matrix for the fused decoding kernels (decode/fused_repeat_step.h): each output
// row symmetric, with its own float32 scale. Rows are the unit because a GEMV's warp owns whole rows, so one
// multiplication after the row's sum applies the scale.
#pragma once

#include <ATen/ATen.h>

namespace maskmix {

struct QuantizedRows {
  at::Tensor values;  // int8 [rows, cols], in [-127, 127], contiguous on w's device
  at::Tensor scales;  // float32 [rows]: row r ≈ values[r] · scales[r]
};

// scale = max |w[r]| / 127 (0 for an all-zero row), values = round(w / scale): each value within scale / 2 of w.
QuantizedRows quantizeRows(const at::Tensor& w);

}  // namespace maskmix
