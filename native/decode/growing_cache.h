// An append-only tensor that grows along one dimension inside a buffer that doubles (up to a cap), so appending
// m rows costs O(m) amortised and the held part is always one strided view. Decoding caches (the masked mixer's
// past mixing inputs, a Toeplitz head's past inputs, a transformer's keys and values) are made of these.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <functional>

#include "common/error.h"

namespace maskmix {

class GrowingCache {
 public:
  // Grows along `dim` to at most `maxLength` entries (the model's context).
  GrowingCache(int64_t dim, int64_t maxLength) : dim_(dim), maxLength_(maxLength) {}

  // Appends `rows` (shaped like the cache except along dim) and returns everything held, as a view.
  at::Tensor append(const at::Tensor& rows) {
    int64_t needed = length_ + rows.size(dim_);
    require(needed <= maxLength_, "decoding cache overflow: " + std::to_string(needed) + " > " + std::to_string(maxLength_), "INTERNAL");
    if (!buffer_.defined() || needed > buffer_.size(dim_)) {
      int64_t capacity = std::min(maxLength_, std::max<int64_t>({needed, 16, buffer_.defined() ? 2 * buffer_.size(dim_) : 0}));
      std::vector<int64_t> shape = rows.sizes().vec();
      shape[dim_] = capacity;
      at::Tensor grown = at::empty(shape, rows.options());
      if (length_ > 0) grown.narrow(dim_, 0, length_).copy_(view());
      buffer_ = grown;
    }
    buffer_.narrow(dim_, length_, rows.size(dim_)).copy_(rows);
    length_ = needed;
    return view();
  }

  at::Tensor view() const { return buffer_.narrow(dim_, 0, length_); }
  int64_t length() const { return length_; }
  // Memory held (the whole buffer, not only the filled part).
  int64_t bytes() const { return buffer_.defined() ? static_cast<int64_t>(buffer_.numel() * buffer_.element_size()) : 0; }

  // An independent copy with the same capacity.
  GrowingCache clone() const {
    return map([](const at::Tensor& held) { return held; });
  }

  // A new cache, with the same capacity along dim, holding f(what this one holds); f may change the other
  // dimensions (e.g. repeat each sequence of a batch) but not the length along dim.
  GrowingCache map(const std::function<at::Tensor(const at::Tensor&)>& f) const {
    GrowingCache copy(dim_, maxLength_);
    if (!buffer_.defined()) return copy;
    at::Tensor content = f(view());
    std::vector<int64_t> shape = content.sizes().vec();
    shape[dim_] = buffer_.size(dim_);
    copy.buffer_ = at::empty(shape, content.options());
    if (length_ > 0) copy.buffer_.narrow(dim_, 0, length_).copy_(content);
    copy.length_ = length_;
    return copy;
  }

 private:
  int64_t dim_, maxLength_;
  int64_t length_ = 0;
  at::Tensor buffer_;
};

}  // namespace maskmix
