#include "ops/linear_mixing.h"

#include <c10/core/impl/LocalDispatchKeySet.h>
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

struct SolvePlan;
// Carries a solve's plan from forward to backward in the autograd context.
struct PlanHolder : public torch::CustomClassHolder {
  explicit PlanHolder(std::shared_ptr<SolvePlan> p) : plan(std::move(p)) {}
  std::shared_ptr<SolvePlan> plan;
};


// Which rows every chunk of a chunked solve reads, built once on the host. Buffer rows: the Q past outputs first,
// then the m rows being solved.
struct ChunkPlan {
  int64_t start = 0, rows = 0;
  at::Tensor pastRows;   // [rows·K] buffer row of each slot that reads before the chunk (0 where unused)
  at::Tensor pastUse;    // [rows, K] 1 where it does
  at::Tensor innerCols;  // [rows, K] column inside the chunk of each slot that reads within it
  at::Tensor innerUse;   // [rows, K]
  at::Tensor allRows;    // [rows·K] buffer row of every used slot (past or inner), for β's gradient
  bool anyPast = false, anyInner = false;
};
struct SolvePlan {
  int64_t Q = 0, m = 0, K = 0;
  std::vector<ChunkPlan> chunks;
};

SolvePlan planSolve(const LinearPattern& pattern, int64_t p, int64_t m, int64_t c, const std::vector<int64_t>& pastPositions,
                    const at::Device& device) {
  SolvePlan plan;
  plan.Q = static_cast<int64_t>(pastPositions.size());
  plan.m = m;
  plan.K = pattern.slotsB();
  const int64_t K = plan.K, Q = plan.Q;
  auto rowOf = [&](int64_t position) -> int64_t {
    if (position >= p) return Q + position - p;
    auto it = std::lower_bound(pastPositions.begin(), pastPositions.end(), position);
    require(it != pastPositions.end() && *it == position,
            "linear mixing: position " + std::to_string(position) + " is read but not held by the decoding cache", "INTERNAL");
    return static_cast<int64_t>(it - pastPositions.begin());
  };
  auto doubles = at::TensorOptions().dtype(at::kDouble);
  for (int64_t s = 0; s < m; s += c) {
    ChunkPlan chunk;
    chunk.start = s;
    chunk.rows = std::min(c, m - s);
    const int64_t cc = chunk.rows, first = p + s;
    const size_t size = static_cast<size_t>(cc * K);
    std::vector<int64_t> pastRows(size, 0), innerCols(size, 0), allRows(size, 0);
    std::vector<double> pastUse(size, 0.0), innerUse(size, 0.0);
    for (int64_t r = 0; r < cc; ++r)
      for (int64_t k = 0; k < K; ++k) {
        int64_t j = pattern.source(first + r, k);
        if (j < 0) continue;
        size_t e = static_cast<size_t>(r * K + k);
        allRows[e] = rowOf(j);
        if (j < first) {
          pastRows[e] = allRows[e];
          pastUse[e] = 1.0;
          chunk.anyPast = true;
        } else {
          innerCols[e] = j - first;
          innerUse[e] = 1.0;
          chunk.anyInner = true;
        }
      }
    chunk.pastRows = longTensor(pastRows, device);
    chunk.pastUse = at::tensor(pastUse, doubles).view({cc, K}).to(device);
    chunk.innerCols = longTensor(innerCols, device).view({cc, K});
    chunk.innerUse = at::tensor(innerUse, doubles).view({cc, K}).to(device);
    chunk.allRows = longTensor(allRows, device);
    plan.chunks.push_back(std::move(chunk));
  }
  return plan;
}

// (I − N)⁻¹ of a chunk's strictly lower block N [H, C, c, c] as (I + N)(I + N²)(I + N⁴)… (N^c = 0): a few small
// matmuls, then one GEMM per chunk applies it, which stays fast where many small triangular solves do not.
at::Tensor chunkInverse(const at::Tensor& n) {
  const int64_t c = n.size(-1);
  at::Tensor eye = at::eye(c, n.options());
  at::Tensor inverse = eye + n;
  at::Tensor power = n;
  for (int64_t reach = 2; reach < c; reach *= 2) {
    power = at::matmul(power, power);
    inverse = at::matmul(inverse, eye + power);
  }
  return inverse;
}

// The chunk's own block N of β (zero except at slots reading inside the chunk).
at::Tensor innerBlock(const at::Tensor& betaChunk, const ChunkPlan& chunk) {
  const int64_t H = betaChunk.size(0), C = betaChunk.size(1), cc = chunk.rows, K = betaChunk.size(3);
  at::Tensor used = betaChunk * chunk.innerUse.to(betaChunk.scalar_type());
  return at::zeros({H, C, cc, cc}, betaChunk.options()).scatter_add(3, chunk.innerCols.view({1, 1, cc, K}).expand({H, C, cc, K}), used);
}

// Chunked forward substitution as one autograd node: the forward runs chunk after chunk; the backward runs the
// transposed system chunk after chunk from the end (G = (I − B)⁻ᵀ·dY; dz = G; dβ_{i,k} = G_i·y_{src(i,k)}; each
// G_i flows on to the outputs row i read), so it keeps only Y, β and the plan: O(m·d) memory, O(m·(K + c)·d) work.
struct ChunkedSolve : public torch::autograd::Function<ChunkedSolve> {
  // z [H, C, m, F], beta [H, C, m, K], past [H, C, Q, F] → y [H, C, m, F].
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& z, const at::Tensor& beta, const at::Tensor& past,
                            std::shared_ptr<SolvePlan> plan) {
    const int64_t H = z.size(0), C = z.size(1), m = z.size(2), F = z.size(3), Q = plan->Q, K = plan->K;
    at::Tensor buffer = at::empty({H, C, Q + m, F}, z.options());
    if (Q > 0) buffer.narrow(2, 0, Q).copy_(past);
    for (const ChunkPlan& chunk : plan->chunks) {
      const int64_t s = chunk.start, cc = chunk.rows;
      at::Tensor b = beta.narrow(2, s, cc);
      at::Tensor rhs = z.narrow(2, s, cc);
      if (chunk.anyPast) {
        at::Tensor used = b * chunk.pastUse.to(b.scalar_type());
        if (cc * K <= kGatherRows) {
          at::Tensor gathered = buffer.index_select(2, chunk.pastRows).view({H, C, cc, K, F});
          rhs = rhs + (used.unsqueeze(-1) * gathered).sum(3);
        } else {
          const int64_t R = Q + s;
          at::Tensor block = at::zeros({H, C, cc, R}, z.options()).scatter_add(3, chunk.pastRows.view({1, 1, cc, K}).expand({H, C, cc, K}), used);
          rhs = rhs + at::matmul(block, buffer.narrow(2, 0, R));
        }
      }
      at::Tensor y = chunk.anyInner && cc > 1 ? at::matmul(chunkInverse(innerBlock(b, chunk)), rhs) : rhs;
      buffer.narrow(2, Q + s, cc).copy_(y);
    }
    ctx->save_for_backward({beta, buffer});
    ctx->saved_data["plan"] = c10::IValue::make_capsule(c10::make_intrusive<PlanHolder>(std::move(plan)));
    // A copy: the output must not be a view of what the backward keeps.
    return buffer.narrow(2, Q, m).clone();
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& beta = saved[0];
    const at::Tensor& buffer = saved[1];
    std::shared_ptr<SolvePlan> plan = c10::static_intrusive_pointer_cast<PlanHolder>(ctx->saved_data["plan"].toCapsule())->plan;
    const int64_t H = buffer.size(0), C = buffer.size(1), F = buffer.size(3), Q = plan->Q, m = plan->m, K = plan->K;
    // acc: the gradient reaching each output row, from dY and from the rows that read it.
    at::Tensor acc = at::zeros({H, C, Q + m, F}, buffer.options());
    acc.narrow(2, Q, m).copy_(grads[0]);
    at::Tensor gradBeta = at::zeros_like(beta);
    for (auto it = plan->chunks.rbegin(); it != plan->chunks.rend(); ++it) {
      const ChunkPlan& chunk = *it;
      const int64_t s = chunk.start, cc = chunk.rows;
      at::Tensor b = beta.narrow(2, s, cc);
      at::Tensor g = acc.narrow(2, Q + s, cc);
      if (chunk.anyInner && cc > 1) g = at::matmul(chunkInverse(innerBlock(b, chunk)).transpose(-1, -2), g);
      acc.narrow(2, Q + s, cc).copy_(g);  // now dL/dz of these rows
      // dβ_{i,k} = G_i · y_{src(i,k)} for every used slot.
      at::Tensor use = chunk.pastUse + chunk.innerUse;
      if (cc * K <= kGatherRows) {
        at::Tensor read = buffer.index_select(2, chunk.allRows).view({H, C, cc, K, F});
        gradBeta.narrow(2, s, cc).copy_((read * g.unsqueeze(3)).sum(-1) * use.to(g.scalar_type()));
      } else {
        at::Tensor all = at::matmul(g, buffer.narrow(2, 0, Q + s + cc).transpose(-1, -2));  // [H, C, cc, rows]
        gradBeta.narrow(2, s, cc).copy_(all.gather(3, chunk.allRows.view({1, 1, cc, K}).expand({H, C, cc, K})) * use.to(g.scalar_type()));
      }
      // G_i flows on to the earlier outputs row i read: acc[src] += β_{i,k}·G_i.
      if (chunk.anyPast) {
        at::Tensor used = b * chunk.pastUse.to(b.scalar_type());
        if (cc * K <= kGatherRows) {
          acc.index_add_(2, chunk.pastRows, (used.unsqueeze(-1) * g.unsqueeze(3)).reshape({H, C, cc * K, F}));
        } else {
          const int64_t R = Q + s;
          at::Tensor block = at::zeros({H, C, cc, R}, g.options()).scatter_add(3, chunk.pastRows.view({1, 1, cc, K}).expand({H, C, cc, K}), used);
          acc.narrow(2, 0, R).add_(at::matmul(block.transpose(-1, -2), g));
        }
      }
    }
    return {acc.narrow(2, Q, m), gradBeta, acc.narrow(2, 0, Q), at::Tensor()};
  }
};

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
  // Half precision would lose the recurrence: solve in float32 (float64 stays float64 for exact checks), with
  // autocast off so its matmuls stay there too.
  c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::autocast_dispatch_keyset);
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
  if (c == m && Q == 0) {
    // One block: the dense triangular solve, differentiated by autograd.
    std::vector<int64_t> cols(static_cast<size_t>(m * KB), 0);
    std::vector<double> used(static_cast<size_t>(m * KB), 0.0);
    for (int64_t r = 0; r < m; ++r)
      for (int64_t k = 0; k < KB; ++k) {
        int64_t j = pattern.source(p + r, k);
        if (j < 0) continue;
        cols[static_cast<size_t>(r * KB + k)] = j - p;
        used[static_cast<size_t>(r * KB + k)] = 1.0;
      }
    at::Tensor index = longTensor(cols, x.device()).view({1, 1, m, KB}).expand({H, C, m, KB});
    at::Tensor block = at::zeros({H, C, m, m}, options).scatter_add(3, index, beta * at::tensor(used, at::TensorOptions().dtype(at::kDouble)).to(x.device(), dtype).view({m, KB}));
    // Unit lower triangular: the (zero) diagonal of −B is read as ones, so this solves (I − B)·y = z.
    return external(at::linalg_solve_triangular(block.neg(), z, /*upper=*/false, /*left=*/true, /*unitriangular=*/true));
  }
  if (m == 1 && !torch::autograd::GradMode::is_enabled()) {
    // A decoding step: y = z + Σ_k β_k·y_{src(k)}, gathering the K rows it reads straight from the cache (no copy
    // of the cache, so a step costs O(K·d) even where the cache holds O(n) rows).
    std::vector<int64_t> rows;
    std::vector<int64_t> slots;
    for (int64_t k = 0; k < KB; ++k) {
      int64_t j = pattern.source(p, k);
      if (j < 0) continue;
      auto it = std::lower_bound(pastPositions.begin(), pastPositions.end(), j);
      require(it != pastPositions.end() && *it == j, "linear mixing: position " + std::to_string(j) + " is read but not held by the decoding cache",
              "INTERNAL");
      rows.push_back(static_cast<int64_t>(it - pastPositions.begin()));
      slots.push_back(k);
    }
    if (rows.empty()) return external(z);
    at::Tensor read = internal(in.pastOutputs).index_select(2, longTensor(rows, x.device()));            // [H, C, r, F]
    at::Tensor weights = beta.index_select(3, longTensor(slots, x.device())).transpose(2, 3);          // [H, C, r, 1]
    return external(z + (weights * read).sum(2, /*keepdim=*/true));
  }
  SolvePlan plan = planSolve(pattern, p, m, c, pastPositions, x.device());
  // No past: an empty tensor (an undefined one has no device for autograd's bookkeeping).
  at::Tensor past = Q > 0 ? internal(in.pastOutputs) : at::empty({H, C, 0, F}, options);
  return external(ChunkedSolve::apply(z, beta, past, std::make_shared<SolvePlan>(std::move(plan))));
}

}  // namespace maskmix
