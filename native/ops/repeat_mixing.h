// The structured token mixing of a masked recurrent ("repeat") mixer, SPEC §5. Per head h, on that head's
// projected inputs x_s: y_t = Σ_{s≤t} M[t,s]·x_s + β_t, with M one of these structures (λ = clip(δ, 0.9, 1) the
// head's learned decay, c = max(1, n/512), γ = λ^{1/c} the decay per position):
//   column           M[t,s] = w_t·γ^{t−s}                       y_t = w_t·S_t,  S_t = γ·S_{t−1} + x_t
//   row              M[t,s] = w_s·γ^{t−s}                       y_t = R_t,      R_t = γ·R_{t−1} + w_t·x_t
//   column-diagonal  column below the diagonal, M[t,t] = u_t    y_t = w_t·(S_t − x_t) + u_t·x_t
//   row-diagonal     row below the diagonal, M[t,t] = u_t       y_t = R_t + (u_t − w_t)·x_t
//   combined         M[t,s] = (w_t + v_s)·γ^{t−s}               y_t = w_t·S_t + R_t (R built from v)
//   toeplitz         M[t,s] = m_{t−s} (no decay)                y_t = Σ_s m_{t−s}·x_s: needs every past x_s
//   kernel           k column-repeat rows sharing one S_t, each reading S_t shifted along the head's channels:
//                    y_t[e] = Σ_{j<k} w_{j,t}·S_t[e + j − k + 1] (zero outside the head)
//   mixed            the first ⌈H/2⌉ heads column, the rest row (the reference's main configuration)
// (plus β_t in every case). Every structure but Toeplitz needs only the running sums S (and R) of each head to
// continue: O(1) state per head. Weights are indexed by absolute position, so the context n is fixed.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "ops/decayed_scan.h"

namespace maskmix {

enum class RepeatStructure { Mixed, Column, Row, ColumnDiagonal, RowDiagonal, Combined, Toeplitz, Kernel };

RepeatStructure repeatStructureFromName(const std::string& name);
// The clip range of the learned decay δ.
constexpr double kDecayMin = 0.9;
constexpr double kDecayMax = 1.0;

struct RepeatWeights {
  RepeatStructure structure = RepeatStructure::Mixed;
  at::Tensor weight;     // [H, n] (w; Toeplitz: m_0 … m_{n−1}); kernel: [H, k, n]
  at::Tensor rowWeight;  // [H, n] v, combined only
  at::Tensor diagonal;   // [H, n] u, diagonal variants only
  at::Tensor bias;       // [H, n] β
  at::Tensor decay;      // [H] δ; not used by Toeplitz
  double decayConstant = 1.0;  // c
};

// How many running-sum vectors a head keeps (combined: S and R).
int64_t sumsPerHead(RepeatStructure structure);

struct RepeatMixOutput {
  at::Tensor y;     // [H, m, b, dh]
  at::Tensor sums;  // decayed structures: the running sums after the last position, [G, b·dh] (G = H·sumsPerHead)
};

// x: [H, m, b, dh], each head's inputs at positions position … position+m−1.
// carry: decayed structures: the running sums before `position` ([G, b·dh]; undefined = zeros, a fresh start);
//        Toeplitz: the inputs of positions 0 … position+m−1, x's own included ([H, position+m, b·dh]; undefined
//        when position is 0: x itself).
// positionIndex: when defined, an int64 device tensor [m] holding the positions, used instead of `position` (which
// is then ignored, and the context is not checked): a CUDA graph captured with it replays at any position.
RepeatMixOutput repeatMixing(const at::Tensor& x, const RepeatWeights& weights, int64_t position = 0, const at::Tensor& carry = {},
                             ScanStrategy strategy = ScanStrategy::Auto, const at::Tensor& positionIndex = {});

}  // namespace maskmix
