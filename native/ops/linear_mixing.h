// Generalized linear token mixing, Y = (I − B)⁻¹·(A·X + β) per head (ops/linear_pattern.h for A's and B's
// supports). Computing Y is a unit-lower-triangular solve; three ways, all exact and differentiable:
//   dense       build the rows' (I − B) block and solve it at once (linalg_solve_triangular, through autograd):
//               O(m²·d) whatever the sparsity
//   chunked     forward substitution over chunks of c rows: a chunk first gathers the past outputs its slots read
//               (only the pattern's nonzero offsets: O(c·K·d)), then applies its own c×c block's inverse;
//               sequential over m/c chunks: O(m·(K + c)·d). One autograd node whose backward runs the transposed
//               system chunk by chunk from the end.
//   sequential  chunks of one row: the recurrence y_i = z_i + Σ_k β_{i,k}·y_{src(i,k)} itself (what decoding does)
// A decoding call passes what its cache holds of the past (inputs for A's lags, outputs at listed positions).
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "ops/linear_pattern.h"

namespace maskmix {

enum class LinearSolve { Auto, Dense, Chunked, Sequential };

LinearSolve linearSolveFromName(const std::string& name);

struct LinearMixInput {
  at::Tensor x;      // [H, m, b, dh]: each head's inputs at positions position … position+m−1
  at::Tensor alpha;  // [H, c, m, lagsA]: c = 1 (shared by the batch) or b; unused slots are ignored
  at::Tensor beta;   // [H, c, m, slotsB]
  at::Tensor bias;   // [H, m] added to A·X, or undefined
  int64_t position = 0;
  at::Tensor pastInputs;   // [H, P, b, dh]: the inputs of positions position−P … position−1 (A's lags), or undefined
  at::Tensor pastOutputs;  // [H, Q, b, dh]: outputs at *pastPositions, or undefined
  const std::vector<int64_t>* pastPositions = nullptr;  // ascending
};

// → y [H, m, b, dh], in x's dtype (the solve runs in float32 for half inputs).
at::Tensor linearMixing(const LinearPattern& pattern, const LinearMixInput& input, LinearSolve solve = LinearSolve::Auto, int64_t chunk = 64);

}  // namespace maskmix
