#include "decode/quantized_rows.h"

#include "common/error.h"

namespace maskmix {

QuantizedRows quantizeRows(const at::Tensor& w) {
  require(w.dim() == 2 && w.is_floating_point(), "int8 quantisation takes a floating-point matrix", "SHAPE_MISMATCH");
  at::Tensor rows = w.detach().to(at::kFloat);
  at::Tensor scales = rows.abs().amax(1) / 127.0;
  // An all-zero row divides by 1 instead (its values are 0 either way) and keeps scale 0.
  at::Tensor divisor = at::where(scales > 0, scales, at::ones_like(scales)).unsqueeze(1);
  at::Tensor values = (rows / divisor).round().clamp(-127, 127).to(at::kChar).contiguous();
  return {values, scales.contiguous()};
}

}  // namespace maskmix
