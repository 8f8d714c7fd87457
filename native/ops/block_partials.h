// The weight- and bias-gradient partials of maskmix's backward row kernels ([blocks, cols] float32, one row per
// block) summed over blocks: one kernel on CUDA (kernels/block_partials.cu), libtorch's sum elsewhere.
#pragma once

#include <ATen/ATen.h>

namespace maskmix {

// Σ over the first axis of a [blocks, cols] float32 tensor, returned in `dtype`.
at::Tensor sumBlockPartials(const at::Tensor& partial, at::ScalarType dtype);

// Σ over the first axis of a [rows, cols] tensor with float32 accumulation, returned in `dtype` (a bias gradient):
// partial column sums and sumBlockPartials on CUDA (bf16 or float32, cols % 8 == 0), libtorch's sum elsewhere.
at::Tensor sumOverRows(const at::Tensor& x, at::ScalarType dtype);

}  // namespace maskmix
