#include "ops/decayed_scan.h"

#include <string>

#include "common/error.h"

namespace maskmix {

namespace {

// Which form, measured on the project's 2-core CPU box (libtorch 1.13, one thread, forward + backward of 4 groups,
// best of 7; N = batch·head width):
//   t                     64    128    256    512    1024    2048
//   explicit, N=512      1.1    2.7    7.7   26.8     117     637  ms
//   chunked C=64, N=512    —    3.4    9.8   15.0    24.3    40.7
//   explicit, N=2048     4.0    6.5   21.6   80.0     354    1547
//   chunked C=64, N=2048   —    7.5   15.9   44.6     217     473
// The explicit matrix wins while t ≤ 128 (one GEMM, no chunk bookkeeping); past that its O(t²) work dominates and
// the chunked form is 2-15× faster. Chunks of 16 … 128 were within noise of each other; 64 keeps the
// across-chunk matrix small (128×128 at t = 8192). A plain loop over t (the recurrence) would issue 2t small ops
// forward and more backward, slower than either. GPUs may prefer other thresholds: measure there.
constexpr int64_t kExplicitUpTo = 128;
constexpr int64_t kDefaultChunk = 64;

// L[g, i, j] = γ_g^{(i−j)·stride} for i ≥ j, else 0: [G, size, size].
at::Tensor decayMatrix(const at::Tensor& logGamma, int64_t size, int64_t stride = 1) {
  at::Tensor i = at::arange(size, logGamma.options());
  at::Tensor lag = i.unsqueeze(1) - i.unsqueeze(0);
  // Clamp before exponentiating: above the diagonal γ^{negative} overflows, and inf·0 would put NaN into the
  // gradient even though the mask zeroes those entries.
  at::Tensor powers = at::exp(logGamma.view({-1, 1, 1}) * (lag.clamp_min(0) * static_cast<double>(stride)));
  return powers * lag.ge(0).to(powers.scalar_type());
}

// γ_g^{k·stride} for k = first … first+count−1: [G, count].
at::Tensor decayPowers(const at::Tensor& logGamma, int64_t first, int64_t count, int64_t stride = 1) {
  at::Tensor k = at::arange(first, first + count, logGamma.options()) * static_cast<double>(stride);
  return at::exp(logGamma.unsqueeze(1) * k.unsqueeze(0));
}

at::Tensor explicitScan(const at::Tensor& u, const at::Tensor& logGamma) { return at::matmul(decayMatrix(logGamma, u.size(1)), u); }

// Within each chunk of C positions the explicit form; across chunks, the state each chunk hands on (its last
// row) is itself a decayed sum with factor γ^C, solved by a small (t/C)×(t/C) matrix; each position then adds
// the state entering its chunk, decayed by its offset + 1. Exact, not an approximation.
at::Tensor chunkedScan(const at::Tensor& u, const at::Tensor& logGamma, int64_t chunk) {
  int64_t G = u.size(0), t = u.size(1), N = u.size(2);
  int64_t C = chunk, K = (t + C - 1) / C;
  at::Tensor padded = K * C > t ? at::constant_pad_nd(u, {0, 0, 0, K * C - t}) : u;
  at::Tensor blocks = padded.reshape({G, K, C, N});
  at::Tensor local = at::matmul(decayMatrix(logGamma, C).unsqueeze(1), blocks);          // [G, K, C, N]
  at::Tensor ends = local.select(2, C - 1);                                               // [G, K, N]
  at::Tensor leaving = at::matmul(decayMatrix(logGamma, K, C), ends);                     // state after chunk k
  at::Tensor entering = at::constant_pad_nd(leaving.narrow(1, 0, K - 1), {0, 0, 1, 0});  // state before chunk k
  at::Tensor out = local + decayPowers(logGamma, 1, C).view({G, 1, C, 1}) * entering.unsqueeze(2);
  return out.reshape({G, K * C, N}).narrow(1, 0, t);
}

}  // namespace

ScanStrategy scanStrategyFromName(const std::string& name) {
  if (name == "auto") return ScanStrategy::Auto;
  if (name == "explicit") return ScanStrategy::Explicit;
  if (name == "chunked") return ScanStrategy::Chunked;
  fail("INVALID_ARGUMENT", "scan strategy must be 'auto', 'explicit' or 'chunked', got '" + name + "'");
}

at::Tensor decayedScan(const at::Tensor& u, const at::Tensor& logGamma, const at::Tensor& init, ScanStrategy strategy, int64_t chunk) {
  require(u.dim() == 3 && u.size(1) >= 1, "decayed scan expects u of shape [groups, tokens ≥ 1, channels]", "SHAPE_MISMATCH");
  int64_t G = u.size(0), t = u.size(1), N = u.size(2);
  require(logGamma.dim() == 1 && logGamma.size(0) == G, "decayed scan: logGamma must be [" + std::to_string(G) + "]", "SHAPE_MISMATCH");
  require(!init.defined() || (init.dim() == 2 && init.size(0) == G && init.size(1) == N),
          "decayed scan: init must be [" + std::to_string(G) + ", " + std::to_string(N) + "]", "SHAPE_MISMATCH");
  require(chunk >= 0, "decayed scan: chunk must be ≥ 0");
  if (t == 1) {
    // One step of the recurrence, written as such.
    return init.defined() ? u + logGamma.exp().view({G, 1, 1}) * init.unsqueeze(1) : u;
  }
  if (strategy == ScanStrategy::Auto) strategy = t <= kExplicitUpTo ? ScanStrategy::Explicit : ScanStrategy::Chunked;
  if (chunk == 0) chunk = kDefaultChunk;
  at::Tensor out = strategy == ScanStrategy::Explicit || chunk >= t ? explicitScan(u, logGamma) : chunkedScan(u, logGamma, chunk);
  if (init.defined()) out = out + decayPowers(logGamma, 1, t).unsqueeze(2) * init.unsqueeze(1);
  return out;
}

}  // namespace maskmix
