#include "ops/linear_mixing.h"

#include <torch/autograd.h>

#include <algorithm>

#include "common/error.h"

namespace maskmix {

LinearSolve linearSolveFromName(const std::string& name) {
  if (name == "auto") return LinearSolve::Auto;
  if (name == "dense") return LinearSolve::Dense;
  if (name == "chunked") return LinearSolve::Chunked;
  if (name == "sequential") return LinearSolve::Sequential;
  fail("INVALID_ARGUMENT", "unknown linear solve '" + name + "' (expected auto, dense, chunked or sequential)");
}

namespace {

// A chunk gathers c·K past rows of d values; beyond this many rows it multiplies a scattered [c, past] coefficient
// block with the past outputs instead (dense B, long chunks).
constexpr int64_t kGatherRows = 2048;

at::Tensor longTensor(const std::vector<int64_t>& v, const at::Device& device) {
  return at::tensor(v, at::TensorOptions().dtype(at::kLong)).to(device);
}

}  // namespace

at::Tensor linearMixing(const LinearPattern& pattern, const LinearMixInput& in, LinearSolve solve, int64_t chunk) {
  const at::Tensor& x = in.x;
  require(x.dim() == 4 && x.size(1) >= 1, "linear mixing expects x of shape [heads, tokens ≥ 1, batch, head width]", "SHAPE_MISMATCH");
  require(at::isFloatingType(x.scalar_type()), "linear mixing expects floating-point inputs", "DTYPE_MISMATCH");
  const int64_t H = x.size(0), m = x.size(1), b = x.size(2), dh = x.size(3), p = in.position;
  const int64_t KA = pattern.lagsA(), KB = pattern.slotsB();
  require(p >= 0 && p + m <= pattern.context(),
          "positions " + std::to_string(p) + " … " + std::to_string(p + m - 1) + " pass the context of " + std::to_string(pattern.context()),
          "CONTEXT_FULL");
  require(in.alpha.defined() && in.alpha.dim() == 4 && in.alpha.size(0) == H && in.alpha.size(2) == m && in.alpha.size(3) == KA,
          "linear mixing: alpha must be [heads, 1 or batch, tokens, " + std::to_string(KA) + "]", "SHAPE_MISMATCH");
  const int64_t C = in.alpha.size(1);  // coefficient rows per head: 1 (shared) or b
  require(C == 1 || C == b, "linear mixing: coefficients must be shared by the batch or given per sequence", "SHAPE_MISMATCH");
  require(KB == 0 || (in.beta.defined() && in.beta.dim() == 4 && in.beta.size(0) == H && in.beta.size(1) == C && in.beta.size(2) == m &&
                      in.beta.size(3) == KB),
          "linear mixing: beta must be [heads, " + std::to_string(C) + ", tokens, " + std::to_string(KB) + "]", "SHAPE_MISMATCH");
  const int64_t F = (b / C) * dh;
  // Half precision would lose the recurrence: solve in float32 (float64 stays float64 for exact checks).
  const at::ScalarType dtype = x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const auto options = x.options().dtype(dtype);
  // [H, r, b, dh] ↔ [H, C, r, F]: shared coefficients mix every sequence's channels at once.
  auto internal = [&](const at::Tensor& t) {
    at::Tensor u = t.to(dtype);
    return C == 1 ? u.reshape({H, 1, u.size(1), F}) : u.permute({0, 2, 1, 3});
  };
  auto external = [&](const at::Tensor& t) {
    int64_t r = t.size(2);
    return (C == 1 ? t.reshape({H, r, b, dh}) : t.permute({0, 2, 1, 3})).to(x.scalar_type());
  };

  at::Tensor X = internal(x);
  // z = A·X (+ bias): lag l reads the input at position i − l.
  at::Tensor a = in.alpha.to(dtype) * pattern.validA(p, m, options);
  at::Tensor z;
  if (KA == 1) {
    z = a * X;
  } else {
    const int64_t P = in.pastInputs.defined() ? in.pastInputs.size(1) : 0;
    require(P >= std::min(p, KA - 1), "linear mixing: the cached inputs do not reach back " + std::to_string(KA - 1) + " positions", "INTERNAL");
    at::Tensor all = P > 0 ? at::cat({internal(in.pastInputs), X}, 2) : X;  // positions p−P … p+m−1
    if (KA <= 64) {
      // A window: a sum over lags of shifted inputs, O(m·KA·d).
      int64_t pad = std::max<int64_t>(0, KA - 1 - P);
      at::Tensor padded = pad > 0 ? at::constant_pad_nd(all, {0, 0, pad, 0}) : all;
      for (int64_t l = 0; l < KA; ++l) {
        at::Tensor term = a.narrow(3, l, 1) * padded.narrow(2, P + pad - l, m);
        z = l == 0 ? term : z + term;
      }
    } else {
      // Dense rows (attention): scatter the lags into columns, one matmul, as the masked mixer's GEMM.
      at::Tensor cols = (at::arange(m, options.dtype(at::kLong)).unsqueeze(1) + P - at::arange(KA, options.dtype(at::kLong)).unsqueeze(0)).clamp_min(0);
      at::Tensor rows = at::zeros({H, C, m, P + m}, options).scatter_add(3, cols.expand({H, C, m, KA}), a.expand({H, C, m, KA}));
      z = at::matmul(rows, all);
    }
  }
  if (in.bias.defined()) z = z + in.bias.to(dtype).view({H, 1, m, 1});
  if (KB == 0) return external(z);

  // The solve (I − B)·Y = z, rows in chunks of c.
  const std::vector<int64_t> none;
  const std::vector<int64_t>& pastPositions = in.pastPositions ? *in.pastPositions : none;
  const int64_t Q = static_cast<int64_t>(pastPositions.size());
  require(Q == 0 || (in.pastOutputs.defined() && in.pastOutputs.size(1) == Q), "linear mixing: pastOutputs must hold one row per past position",
          "SHAPE_MISMATCH");
  require(chunk >= 1, "linear mixing: chunk must be ≥ 1");
  int64_t c = solve == LinearSolve::Dense        ? m
              : solve == LinearSolve::Sequential ? 1
              : solve == LinearSolve::Chunked    ? chunk
                                                 : (pattern.denseB() || m <= chunk ? m : chunk);
  c = std::min(c, m);
  at::Tensor beta = in.beta.to(dtype);
  auto rowOf = [&](int64_t position) -> int64_t {
    if (position >= p) return Q + position - p;
    auto it = std::lower_bound(pastPositions.begin(), pastPositions.end(), position);
    require(it != pastPositions.end() && *it == position,
            "linear mixing: position " + std::to_string(position) + " is read but not held by the decoding cache", "INTERNAL");
    return static_cast<int64_t>(it - pastPositions.begin());
  };
  // Outputs so far, past ones first: rows a chunk reads by index_select (whose backward needs only the shape, so
  // writing later chunks into the buffer in place leaves autograd intact).
  at::Tensor buffer;
  if (c < m || Q > 0) {
    buffer = at::zeros({H, C, Q + m, F}, options);
    if (Q > 0) buffer.narrow(2, 0, Q).copy_(internal(in.pastOutputs));
  }
  at::Tensor y;
  for (int64_t s = 0; s < m; s += c) {
    const int64_t cc = std::min(c, m - s), first = p + s;
    std::vector<int64_t> pastIndex(static_cast<size_t>(cc * KB), 0), innerIndex(static_cast<size_t>(cc * KB), 0);
    std::vector<double> pastUse(static_cast<size_t>(cc * KB), 0.0), innerUse(static_cast<size_t>(cc * KB), 0.0);
    bool anyPast = false, anyInner = false;
    for (int64_t r = 0; r < cc; ++r)
      for (int64_t k = 0; k < KB; ++k) {
        int64_t j = pattern.source(first + r, k);
        if (j < 0) continue;
        size_t e = static_cast<size_t>(r * KB + k);
        if (j < first) {
          pastIndex[e] = rowOf(j);
          pastUse[e] = 1.0;
          anyPast = true;
        } else {
          innerIndex[e] = j - first;
          innerUse[e] = 1.0;
          anyInner = true;
        }
      }
    at::Tensor coefficients = beta.narrow(2, s, cc);  // [H, C, cc, KB]
    at::Tensor rhs = z.narrow(2, s, cc);
    if (anyPast) {
      at::Tensor used = coefficients * at::tensor(pastUse, options.dtype(at::kDouble)).to(dtype).view({cc, KB});
      at::Tensor index = longTensor(pastIndex, x.device());
      if (cc * KB <= kGatherRows) {
        at::Tensor gathered = buffer.index_select(2, index).view({H, C, cc, KB, F});
        rhs = rhs + at::matmul(used.unsqueeze(-2), gathered).squeeze(-2);
      } else {
        const int64_t R = Q + s;
        at::Tensor block = at::zeros({H, C, cc, R}, options).scatter_add(3, index.view({1, 1, cc, KB}).expand({H, C, cc, KB}), used);
        at::Tensor rows = buffer.narrow(2, 0, R);
        // matmul keeps its operand for the backward: a copy, since later chunks write into the buffer.
        if (torch::autograd::GradMode::is_enabled() && rows.requires_grad()) rows = rows.clone();
        rhs = rhs + at::matmul(block, rows);
      }
    }
    at::Tensor yc = rhs;
    if (anyInner && cc > 1) {
      at::Tensor used = coefficients * at::tensor(innerUse, options.dtype(at::kDouble)).to(dtype).view({cc, KB});
      at::Tensor index = longTensor(innerIndex, x.device()).view({1, 1, cc, KB}).expand({H, C, cc, KB});
      at::Tensor block = at::zeros({H, C, cc, cc}, options).scatter_add(3, index, used);
      // Unit lower triangular: the (zero) diagonal of −B is read as ones, so this solves (I − B)·y = rhs.
      yc = at::linalg_solve_triangular(block.neg(), rhs, /*upper=*/false, /*left=*/true, /*unitriangular=*/true);
    }
    if (!buffer.defined()) {
      y = yc;
    } else {
      buffer.narrow(2, Q + s, cc).copy_(yc);
    }
  }
  if (buffer.defined()) y = buffer.narrow(2, Q, m);
  return external(y);
}

}  // namespace maskmix
