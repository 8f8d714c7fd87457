#include "decode/fragment_order.h"

#include "common/error.h"

namespace maskmix {

at::Tensor fragmentOrder(const at::Tensor& matrix) {
  require(matrix.dim() == 2 && matrix.size(1) % kFragmentTile == 0, "fragment order takes a matrix whose rows are whole 256-value tiles",
          "SHAPE_MISMATCH");
  const int64_t rows = matrix.size(0), K = matrix.size(1);
  // [rows, tiles, chunkHalf, g, valueHalf, t, pair] → [rows, tiles, g, t, valueHalf, chunkHalf, pair]
  return matrix.reshape({rows, K / kFragmentTile, 2, 8, 2, 4, 2}).permute({0, 1, 3, 5, 4, 2, 6}).contiguous().view({rows, K});
}

}  // namespace maskmix
