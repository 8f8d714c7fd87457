// One GEMV of the fused decoding kernels (kernels/repeat_decode.cu) run alone, so that a GPU check can hold its
// products to plain arithmetic on small shapes (scripts/gpu/check-graphed-decoding.mjs, part gemv-checks): the
// whole-step checks compare greedy tokens, which in bf16 part from any other computation after a few tokens.
#pragma once

#include <ATen/ATen.h>

#include <string>

namespace maskmix {

// weight [rows, K] and input [batch ≤ 4, K], float32 on one CUDA device. weights: how the kernel reads the matrix —
// "float32", "bfloat16", "tensor-cores" (bf16 in fragment order, decode/fragment_order.h) or "int8"
// (decode/quantized_rows.h). layerNorm false: weight·input (the residual kernel adding into zeros); true:
// GELU(weight·LayerNorm(input)) with unit LayerNorm weight and zero bias (the LayerNorm → GELU kernel).
// → [batch, rows] float32. Throws CUDA_UNAVAILABLE in a CPU build, INVALID_ARGUMENT for shapes the kernels do not take.
at::Tensor probeDecodeGemv(const at::Tensor& weight, const at::Tensor& input, const std::string& weights, bool layerNorm);

}  // namespace maskmix
