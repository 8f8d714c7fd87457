#include "ops/linear_pattern.h"

#include <algorithm>

#include "common/error.h"

namespace maskmix {

LinearPatternKind linearPatternFromName(const std::string& name) {
  if (name == "attention") return LinearPatternKind::Attention;
  if (name == "local") return LinearPatternKind::Local;
  if (name == "first-order") return LinearPatternKind::FirstOrder;
  if (name == "kth-order") return LinearPatternKind::KthOrder;
  if (name == "dense") return LinearPatternKind::Dense;
  if (name == "pow2") return LinearPatternKind::Pow2;
  if (name == "pow2-lattice") return LinearPatternKind::Pow2Lattice;
  if (name == "square") return LinearPatternKind::Square;
  if (name == "square-lattice") return LinearPatternKind::SquareLattice;
  fail("CONFIG_INVALID", "unknown linear mixing pattern '" + name +
                             "' (expected attention, local, first-order, kth-order, dense, pow2, pow2-lattice, square or square-lattice)");
}

LinearPattern::LinearPattern(LinearPatternKind kind, int64_t context, int64_t order, int64_t window) : kind_(kind), context_(context) {
  require(context >= 1, "a linear mixing pattern needs context ≥ 1", "CONFIG_INVALID");
  require(order >= 1 && window >= 1, "order and window must be ≥ 1", "CONFIG_INVALID");
  // Offsets that fit: a row i reads i − f only when f ≤ i ≤ context − 1.
  auto addWhileFits = [&](auto f) {
    for (int64_t k = 0;; ++k) {
      int64_t o = f(k);
      if (o > context - 1) break;
      offsets_.push_back(o);
    }
  };
  switch (kind) {
    case LinearPatternKind::Attention:
      lagsA_ = context;
      break;
    case LinearPatternKind::Local:
      lagsA_ = std::min(window, context);
      break;
    case LinearPatternKind::FirstOrder:
      addWhileFits([](int64_t k) { return k == 0 ? int64_t{1} : INT64_MAX; });
      break;
    case LinearPatternKind::KthOrder:
      addWhileFits([order](int64_t k) { return k < order ? k + 1 : INT64_MAX; });
      break;
    case LinearPatternKind::Dense:
      addWhileFits([](int64_t k) { return k + 1; });
      break;
    case LinearPatternKind::Pow2:
    case LinearPatternKind::Pow2Lattice:
      addWhileFits([](int64_t k) { return k < 62 ? int64_t{1} << k : INT64_MAX; });
      break;
    case LinearPatternKind::Square:
    case LinearPatternKind::SquareLattice:
      addWhileFits([](int64_t k) { return k < 3000000000LL ? k * k + 1 : INT64_MAX; });
      break;
  }
  if (lattice()) {
    // a_0 = 1, a_{k+1} = a_k·⌈(f(k+1) − f(k))/a_k⌉.
    lattice_.assign(offsets_.size(), 1);
    for (size_t k = 1; k < offsets_.size(); ++k) {
      int64_t a = lattice_[k - 1], gap = offsets_[k] - offsets_[k - 1];
      lattice_[k] = a * ((gap + a - 1) / a);
    }
  }
}

int64_t LinearPattern::source(int64_t i, int64_t k) const {
  int64_t f = offsets_[static_cast<size_t>(k)];
  if (f > i) return -1;
  if (!lattice()) return i - f;
  // 1-indexed as in the notes: row I = i + 1 reads a·⌈(I − f)/a⌉, which is position a·⌈(I − f)/a⌉ − 1 here.
  int64_t a = lattice_[static_cast<size_t>(k)], I = i + 1;
  return a * ((I - f + a - 1) / a) - 1;
}

std::vector<int64_t> LinearPattern::reads(int64_t i) const {
  std::vector<int64_t> out;
  for (int64_t k = 0; k < slotsB(); ++k) {
    int64_t j = source(i, k);
    if (j >= 0) out.push_back(j);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

int64_t LinearPattern::maxOffset() const { return offsets_.empty() ? 0 : offsets_.back(); }

std::vector<int64_t> LinearPattern::retainedAfter(int64_t i) const {
  if (offsets_.empty() || i + 1 >= context_) return {};
  if (lattice()) return reads(i + 1);
  std::vector<int64_t> out;
  for (int64_t j = std::max<int64_t>(0, i + 1 - maxOffset()); j <= i; ++j) out.push_back(j);
  return out;
}

at::Tensor LinearPattern::validA(int64_t position, int64_t m, const at::TensorOptions& options) const {
  // Lag l is used at row i when l ≤ i.
  at::Tensor rows = at::arange(position, position + m, options.dtype(at::kLong)).unsqueeze(1);
  at::Tensor lags = at::arange(lagsA_, options.dtype(at::kLong)).unsqueeze(0);
  return lags.le(rows).to(options.dtype());
}

at::Tensor LinearPattern::validB(int64_t position, int64_t m, const at::TensorOptions& options) const {
  // Slot k is used at row i when f(k) ≤ i (its source, i − f(k) or its lattice rounding, is then ≥ 0).
  if (offsets_.empty()) return at::zeros({m, 0}, options);
  at::Tensor rows = at::arange(position, position + m, options.dtype(at::kLong)).unsqueeze(1);
  at::Tensor f = at::tensor(offsets_, at::TensorOptions().dtype(at::kLong)).to(options.device()).unsqueeze(0);
  return f.le(rows).to(options.dtype());
}

}  // namespace maskmix
