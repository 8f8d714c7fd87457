// Fixed memory for the rows of a decoding cache's last R positions, usable in place by both ways of stepping:
// along dim 1 of [H, 2R, b, dh] every position q is written twice, at slot q mod R and at q mod R + R, so
//  - the rows of the last L ≤ R positions before any position are one contiguous view (what the host-side step
//    and prefill read, positions in order), and
//  - a position held in a device tensor finds its rows by arithmetic (slot = q mod R), with no host round trip:
//    a CUDA graph can capture the reads and writes, since nothing is allocated or moved after allocate().
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

namespace maskmix {

class MirroredRing {
 public:
  // Room for `capacity` positions of rows shaped [H, ·, b, dh] (rowShape: {H, b, dh}), zeroed.
  void allocate(int64_t capacity, const std::vector<int64_t>& rowShape, const at::TensorOptions& options) {
    capacity_ = capacity;
    buffer_ = at::zeros({rowShape[0], 2 * capacity, rowShape[1], rowShape[2]}, options);
  }
  bool allocated() const { return buffer_.defined(); }
  int64_t capacity() const { return capacity_; }
  int64_t bytes() const { return buffer_.defined() ? static_cast<int64_t>(buffer_.numel() * buffer_.element_size()) : 0; }

  // The rows of positions end − L … end − 1, L = min(end, capacity), as a view (undefined when L = 0).
  at::Tensor window(int64_t end) const {
    const int64_t L = std::min(end, capacity_);
    if (L <= 0) return {};
    return buffer_.narrow(1, (end - L) % capacity_, L);
  }

  // Writes rows [H, m, b, dh] of positions first … first + m − 1 (only the last `capacity` of them can be held).
  void write(int64_t first, const at::Tensor& rows) {
    const int64_t m = rows.size(1);
    for (int64_t i = std::max<int64_t>(0, m - capacity_); i < m;) {  // in runs that do not wrap
      const int64_t slot = (first + i) % capacity_, length = std::min(m - i, capacity_ - slot);
      at::Tensor run = rows.narrow(1, i, length);
      buffer_.narrow(1, slot, length).copy_(run);
      buffer_.narrow(1, slot + capacity_, length).copy_(run);
      i += length;
    }
  }

  // The rows of the positions in `positions` ([K] int64 on the buffer's device, each ≥ 0 and among the last
  // `capacity` written) → [H, K, b, dh].
  at::Tensor gather(const at::Tensor& positions) const { return buffer_.index_select(1, positions.remainder(capacity_)); }

  // Writes row [H, 1, b, dh] at the position held in `position` ([1] int64 on the buffer's device).
  void writeAt(const at::Tensor& position, const at::Tensor& row) {
    at::Tensor slot = position.remainder(capacity_);
    at::Tensor same = row.to(buffer_.scalar_type());
    buffer_.index_copy_(1, at::cat({slot, slot + capacity_}), at::cat({same, same}, 1));
  }

 private:
  at::Tensor buffer_;
  int64_t capacity_ = 0;
};

}  // namespace maskmix
