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

}  // namespace maskmix
