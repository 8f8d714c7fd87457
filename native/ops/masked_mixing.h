// The causal masked mixing of SPEC §1: y[t,b,:] = Σ_{s≤t} W[t,s]·x[s,b,:] + β[t].
// One learned t×t matrix mixes positions; every feature channel shares it. The lower-triangular mask is part of
// the op (applied once per call, to the weight, not per token), so the upper triangle of W never influences the
// output nor receives gradient, whatever a checkpoint holds there.
#pragma once

#include <ATen/ATen.h>

namespace maskmix {

// x: token-major [t, b, d]; weight: [t, t] (only its lower triangle, diagonal included, is used); bias: [t].
// Token-major makes the mix one GEMM, [t, t] · [t, b·d], with no copies.
// Differentiable in all three inputs through a custom autograd function with a hand-written backward.
at::Tensor maskedMixing(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

}  // namespace maskmix
