// The causal mixing's three products without the zeros above the diagonal. M is lower triangular ([t, t]), so row
// t of M·X reads only X's first t + 1 rows: cut the rows into P panels and each panel's GEMM stops at its last row,
// 1/2 + 1/(2P) of the full product's multiply-adds (P = 4: 62.5%). The input gradient Mᵀ·G and the weight gradient
// G·Xᵀ (only its lower triangle is wanted) skip the same triangle panel by panel. P = 1 is the plain full GEMM.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace maskmix {

// Panel edges 0 = e₀ < e₁ < … < e_P = t, each inner edge a multiple of 8 (so every panel's operands keep the
// 16-byte alignment tensor cores want). P: MASKMIX_MIXING_PANELS (1–16; default 1, the full GEMM, until counts
// have been timed against each other on a GPU).
std::vector<int64_t> causalPanelEdges(int64_t t);

// [t, N] = A · B, where A = [L lead columns | M] ([t, L + t], M lower triangular, any row stride) and B = [L lead
// rows ; X] ([L + t, N], contiguous). The lead columns and rows carry what every row needs (the bias row).
at::Tensor causalProduct(const at::Tensor& a, const at::Tensor& b, int64_t lead);

// Mᵀ · G ([t, N]) for lower-triangular M ([t, t], any row stride) and contiguous G ([t, N]).
at::Tensor causalTransposedProduct(const at::Tensor& m, const at::Tensor& g);

// The lower triangle of G · Xᵀ ([t, t] in `dtype`, zeros above the diagonal) for G and X [t, N]: the mixing
// weight's gradient, accumulated in float32 whatever the operands' dtype.
at::Tensor causalWeightGradient(const at::Tensor& g, const at::Tensor& x, at::ScalarType dtype);

}  // namespace maskmix
