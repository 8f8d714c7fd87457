#include "ops/repeat_mixing.h"

#include <vector>

#include "common/error.h"

namespace maskmix {

namespace {

std::string shape(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

void requireShape(const at::Tensor& t, at::IntArrayRef expected, const char* name) {
  require(t.defined(), std::string("repeat mixing needs ") + name, "INVALID_ARGUMENT");
  require(t.sizes() == expected, std::string("repeat mixing: ") + name + " must be " + shape(expected) + ", got " + shape(t.sizes()),
          "SHAPE_MISMATCH");
}

// Rows first … first+rows−1 and columns 0 … cols−1 of the Toeplitz matrices T[h, t, s] = m_h[t − s] (s ≤ t).
at::Tensor toeplitzRows(const at::Tensor& weight, int64_t first, int64_t rows, int64_t cols) {
  auto index = at::TensorOptions().dtype(at::kLong).device(weight.device());
  at::Tensor lag = at::arange(first, first + rows, index).unsqueeze(1) - at::arange(cols, index).unsqueeze(0);
  at::Tensor picked = weight.index_select(1, lag.clamp_min(0).flatten()).view({weight.size(0), rows, cols});
  return picked * lag.ge(0).to(weight.scalar_type());
}

}  // namespace

RepeatStructure repeatStructureFromName(const std::string& name) {
  if (name == "mixed") return RepeatStructure::Mixed;
  if (name == "column") return RepeatStructure::Column;
  if (name == "row") return RepeatStructure::Row;
  if (name == "column-diagonal") return RepeatStructure::ColumnDiagonal;
  if (name == "row-diagonal") return RepeatStructure::RowDiagonal;
  if (name == "combined") return RepeatStructure::Combined;
  if (name == "toeplitz") return RepeatStructure::Toeplitz;
  if (name == "kernel") return RepeatStructure::Kernel;
  fail("CONFIG_INVALID", "unknown repeat structure '" + name +
                             "' (expected mixed, column, row, column-diagonal, row-diagonal, combined, toeplitz or kernel)");
}

int64_t sumsPerHead(RepeatStructure structure) {
  if (structure == RepeatStructure::Toeplitz) return 0;
  return structure == RepeatStructure::Combined ? 2 : 1;
}

RepeatMixOutput repeatMixing(const at::Tensor& x, const RepeatWeights& w, int64_t position, const at::Tensor& carry, ScanStrategy strategy,
                             const at::Tensor& positionIndex) {
  require(x.dim() == 4 && x.size(1) >= 1, "repeat mixing expects x of shape [heads, tokens ≥ 1, batch, head width]", "SHAPE_MISMATCH");
  require(at::isFloatingType(x.scalar_type()), "repeat mixing expects floating-point inputs", "DTYPE_MISMATCH");
  const int64_t H = x.size(0), m = x.size(1), b = x.size(2), dh = x.size(3), N = b * dh;
  require(w.bias.defined() && w.bias.dim() == 2 && w.bias.size(0) == H, "repeat mixing: bias must be [heads=" + std::to_string(H) + ", context]",
          "SHAPE_MISMATCH");
  const int64_t n = w.bias.size(1);
  const RepeatStructure s = w.structure;
  require(w.weight.defined(), "repeat mixing needs weight");
  std::vector<int64_t> weightShape{H, n};
  if (s == RepeatStructure::Kernel) weightShape = {H, w.weight.dim() == 3 ? w.weight.size(1) : -1, n};
  requireShape(w.weight, weightShape, "weight");
  if (s == RepeatStructure::Combined) requireShape(w.rowWeight, {H, n}, "rowWeight");
  if (s == RepeatStructure::ColumnDiagonal || s == RepeatStructure::RowDiagonal) requireShape(w.diagonal, {H, n}, "diagonal");
  if (s != RepeatStructure::Toeplitz) requireShape(w.decay, {H}, "decay");
  const bool onDevice = positionIndex.defined();
  require(!onDevice || (positionIndex.dim() == 1 && positionIndex.size(0) == m && positionIndex.scalar_type() == at::kLong),
          "repeat mixing: positionIndex must be int64 [m]", "SHAPE_MISMATCH");
  require(!onDevice || s != RepeatStructure::Toeplitz, "repeat mixing: the Toeplitz structure reads its whole history, not one position",
          "INVALID_ARGUMENT");
  require(onDevice || (position >= 0 && position + m <= n),
          "positions " + std::to_string(position) + " … " + std::to_string(position + m - 1) + " pass the context of " + std::to_string(n) +
              ": a repeat mixer's weights are indexed by absolute position, so its context is fixed at the training length",
          "CONTEXT_FULL");

  at::Tensor u = x.reshape({H, m, N});
  // A per-position weight at this chunk's positions, broadcast over channels: [..., m, 1].
  auto here = [&](const at::Tensor& perPosition) {
    return (onDevice ? perPosition.index_select(-1, positionIndex) : perPosition.narrow(-1, position, m)).unsqueeze(-1);
  };

  RepeatMixOutput out;
  at::Tensor y;
  if (s == RepeatStructure::Toeplitz) {
    at::Tensor history = carry.defined() ? carry : u;
    requireShape(history, {H, position + m, N}, "Toeplitz history");
    y = at::bmm(toeplitzRows(w.weight, position, m, position + m).to(history.scalar_type()), history);
  } else {
    at::Tensor logGamma = at::log(at::clamp(w.decay, kDecayMin, kDecayMax)).div(w.decayConstant);
    const int64_t G = H * sumsPerHead(s);
    if (carry.defined()) requireShape(carry, {G, N}, "running sums");
    at::Tensor weightHere = s == RepeatStructure::Kernel ? at::Tensor() : here(w.weight);  // [H, m, 1]
    at::Tensor sums;
    switch (s) {
      case RepeatStructure::Column:
      case RepeatStructure::ColumnDiagonal:
        sums = decayedScan(u, logGamma, carry, strategy);
        y = weightHere * sums;
        break;
      case RepeatStructure::Row:
      case RepeatStructure::RowDiagonal:
        sums = decayedScan(weightHere * u, logGamma, carry, strategy);
        y = sums;
        break;
      case RepeatStructure::Mixed: {
        // Column heads sum x and weight the sum; row heads sum weighted x.
        int64_t cols = H - H / 2, rows = H / 2;
        at::Tensor input = rows == 0 ? u : at::cat({u.narrow(0, 0, cols), weightHere.narrow(0, cols, rows) * u.narrow(0, cols, rows)});
        sums = decayedScan(input, logGamma, carry, strategy);
        y = rows == 0 ? weightHere * sums : at::cat({weightHere.narrow(0, 0, cols) * sums.narrow(0, 0, cols), sums.narrow(0, cols, rows)});
        break;
      }
      case RepeatStructure::Combined:
        // Both sums of a head share its decay: scan them together as 2H groups.
        sums = decayedScan(at::cat({u, here(w.rowWeight) * u}), at::cat({logGamma, logGamma}), carry, strategy);
        y = weightHere * sums.narrow(0, 0, H) + sums.narrow(0, H, H);
        break;
      case RepeatStructure::Kernel: {
        sums = decayedScan(u, logGamma, carry, strategy);
        int64_t k = w.weight.size(1);
        // Left-pad the channel axis with k−1 zeros: tap j then reads channel e + j − (k−1).
        at::Tensor padded = at::constant_pad_nd(sums.view({H, m, b, dh}), {k - 1, 0});
        at::Tensor taps = here(w.weight).unsqueeze(-1);  // [H, k, m, 1, 1]
        for (int64_t j = 0; j < k; ++j) {
          at::Tensor term = taps.select(1, j) * padded.narrow(3, j, dh);
          y = j == 0 ? term : y + term;
        }
        y = y.reshape({H, m, N});
        break;
      }
      case RepeatStructure::Toeplitz:
        break;
    }
    if (s == RepeatStructure::ColumnDiagonal || s == RepeatStructure::RowDiagonal) y = y + (here(w.diagonal) - weightHere) * u;
    out.sums = sums.select(1, m - 1);
  }
  out.y = (y + here(w.bias).to(y.scalar_type())).view({H, m, b, dh});
  return out;
}

}  // namespace maskmix
