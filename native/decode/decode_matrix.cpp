#include "decode/decode_matrix.h"

#include "decode/fragment_order.h"
#include "decode/quantized_rows.h"

namespace maskmix {

DecodeMatrix decodeMatrix(const at::Tensor& weight, kernels::DecodeWeights format) {
  const at::Tensor w = weight.detach();
  switch (format) {
    case kernels::DecodeWeights::BFloat16: return {w.to(at::kBFloat16).contiguous(), {}};
    case kernels::DecodeWeights::BFloat16Fragments: return {fragmentOrder(w.to(at::kBFloat16)), {}};
    case kernels::DecodeWeights::Int8: {
      QuantizedRows q = quantizeRows(w);
      return {q.values, q.scales};
    }
    case kernels::DecodeWeights::Float32: break;
  }
  return {w.contiguous(), {}};
}

at::Tensor splitColumns(const at::Tensor& weight, int64_t rowsPerBlock, kernels::DecodeWeights format, bool grouped) {
  at::Tensor w = weight.detach();
  if (format == kernels::DecodeWeights::BFloat16) w = w.to(at::kBFloat16);
  const int64_t out = w.size(0), in = w.size(1);
  if (grouped) return w.reshape({out / 4, 4, in / rowsPerBlock, rowsPerBlock / 8, 8}).permute({2, 3, 1, 0, 4}).contiguous();
  return w.reshape({out, in / rowsPerBlock, rowsPerBlock / 8, 8}).permute({1, 2, 0, 3}).contiguous();
}

}  // namespace maskmix
