// Fixed memory for the rows of a decoding cache's last R positions: along dim 1 of [H, R, b, dh], position q sits
// at slot q mod R. A position held in a device tensor finds its rows by arithmetic, with no host round trip, and
// nothing is allocated or moved after allocate(): a CUDA graph can capture the reads and writes.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

namespace maskmix {

class PositionRing {
 public:
  // Room for `capacity` positions of rows shaped [H, ·, b, dh] (rowShape: {H, b, dh}), zeroed.
  void allocate(int64_t capacity, const std::vector<int64_t>& rowShape, const at::TensorOptions& options) {
    capacity_ = capacity;
    buffer_ = at::zeros({rowShape[0], capacity, rowShape[1], rowShape[2]}, options);
  }
  bool allocated() const { return buffer_.defined(); }
  // Every slot, [H, capacity, b, dh]: slot s holds the latest position q written with q mod capacity = s.
  const at::Tensor& slots() const { return buffer_; }
  int64_t bytes() const { return buffer_.defined() ? static_cast<int64_t>(buffer_.numel() * buffer_.element_size()) : 0; }

  // A copy of the rows of positions end − L … end − 1 in order, L = min(end, capacity) (undefined when L = 0).
  at::Tensor window(int64_t end) const {
    const int64_t L = std::min(end, capacity_);
    if (L <= 0) return {};
    return gather(at::arange(end - L, end, at::TensorOptions().dtype(at::kLong).device(buffer_.device())));
  }

  // Writes rows [H, m, b, dh] of positions first … first + m − 1 (only the last `capacity` of them can be held).
  void write(int64_t first, const at::Tensor& rows) {
    const int64_t m = rows.size(1);
    for (int64_t i = std::max<int64_t>(0, m - capacity_); i < m;) {  // in runs of slots that do not wrap
      const int64_t slot = (first + i) % capacity_, length = std::min(m - i, capacity_ - slot);
      buffer_.narrow(1, slot, length).copy_(rows.narrow(1, i, length));
      i += length;
    }
  }

  // The rows of the positions in `positions` ([K] int64 on the buffer's device, each ≥ 0 and among the last
  // `capacity` written) → [H, K, b, dh].
  at::Tensor gather(const at::Tensor& positions) const { return buffer_.index_select(1, positions.remainder(capacity_)); }

  // Writes row [H, 1, b, dh] at the position held in `position` ([1] int64 on the buffer's device).
  void writeAt(const at::Tensor& position, const at::Tensor& row) {
    buffer_.index_copy_(1, position.remainder(capacity_), row.to(buffer_.scalar_type()));
  }

 private:
  at::Tensor buffer_;
  int64_t capacity_ = 0;
};

}  // namespace maskmix
