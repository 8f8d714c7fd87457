// The Llama attention half up to the attention itself as one autograd function: h = RMSNorm(x)·w, then the
// query, key and value projections of h, queries and keys rotated by position. It saves x, the norm's rstd and
// the weights in the compute dtype; backward recomputes h (one norm pass) instead of keeping it, the input the
// three projections would otherwise save: at the bench size (b32 n512 d512, bf16) 16 MiB per layer, 0.25 GiB
// over 16 layers (counted from the tensor sizes, not yet measured on a GPU).
#pragma once

#include <ATen/ATen.h>

#include <tuple>

namespace maskmix {

// x: [b, t, d]; normWeight: [d]; q/k/v weights: [d, d]; cos, sin: [t, d / heads] float32 rotary tables.
// Returns queries and keys (rotated) and values, each [b, t, heads, d / heads] in the compute dtype.
std::tuple<at::Tensor, at::Tensor, at::Tensor> llamaAttentionInputs(const at::Tensor& x, const at::Tensor& normWeight, double eps,
                                                                    const at::Tensor& qWeight, const at::Tensor& kWeight,
                                                                    const at::Tensor& vWeight, const at::Tensor& cos,
                                                                    const at::Tensor& sin, int64_t heads);

}  // namespace maskmix
