// How the fused decoding kernels (kernels/repeat_decode.cu) read their matrices. Free of CUDA and libtorch, so that
// the host code choosing a format (decode/fused_repeat_step.h, decode/decode_matrix.h) builds without CUDA too.
#pragma once

namespace maskmix::kernels {

// Float32 or BFloat16: the values as stored. Int8: one byte a value with one float32 scale per output row
// (RepeatDecodeGemv::weightScales), half of bf16's bytes a token. BFloat16Fragments: bf16 with each 256 values of a
// row reordered into tensor-core operand order (decode/fragment_order.h), the products taken by mma.sync with the
// input rounded to bf16; inFeatures % 256 == 0.
enum class DecodeWeights { Float32, BFloat16, Int8, BFloat16Fragments };

}  // namespace maskmix::kernels
