// The decayed running sum every repeat-mixer structure is built on (SPEC §5):
//   S_t = γ_g·S_{t−1} + u_t   for each group g (a head), with S_{−1} = init (zero when absent),
// i.e. S_t = γ^{t+1}·init + Σ_{s≤t} γ^{t−s}·u_s. Built from differentiable ATen ops, so autograd supplies the
// backward (checked against finite differences in test/native/decayed-scan.test.ts).
#pragma once

#include <ATen/ATen.h>

namespace maskmix {

enum class ScanStrategy {
  Auto,      // whichever is faster for the length (see decayed_scan.cpp for the measurements)
  Explicit,  // one [t, t] decay matrix per group and a batched GEMM: O(t²·N)
  Chunked,   // C×C decay matrices inside chunks, a (t/C)×(t/C) one across chunk ends: O(t·C·N + (t/C)²·N)
};

// u: [G, t, N]; logGamma: [G] (log γ ≤ 0); init: [G, N] or undefined. Returns S: [G, t, N].
// t = 1 is the recurrence itself: S_0 = γ·init + u_0 (what a decoding step runs).
at::Tensor decayedScan(const at::Tensor& u, const at::Tensor& logGamma, const at::Tensor& init = {},
                       ScanStrategy strategy = ScanStrategy::Auto, int64_t chunk = 0);

ScanStrategy scanStrategyFromName(const std::string& name);

}  // namespace maskmix
