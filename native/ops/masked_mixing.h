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

namespace maskmix {

// The mixing variants of SPEC §1 (kernel k > 1, row-softmax, the reverse stream of the bidirectional mixer) go
// through libtorch's own autograd: they are research variants, not the hot path.
enum class MixingMask {
  Causal,   // tril(W): position t reads s ≤ t
  Reverse,  // triu(W, 2): position t reads s ≥ t + 2, so with the residual it never sees t + 1
};

// weight: [k, r, c] (k kernel taps of an r×c corner of a stored mixing weight) → the k masked matrices. softmax
// normalises each row over its unmasked entries (a row with none stays zero), so a prefix of the input keeps
// the same rows it has inside a longer one.
at::Tensor maskedKernelMatrices(const at::Tensor& weight, MixingMask mask, bool softmax);

// x: token-major [c, b, f]; matrices: [k, r, c]; bias: [r] → [r, b, f]. Tap j mixes channel ch + j − (k−1)/2 of
// every input position into channel ch (zero outside), as the reference's Conv1d(n, n, k, padding='same') does
// over the [b, n, d] tensor; k = 1 is the plain masked mixing.
at::Tensor maskedKernelMixing(const at::Tensor& x, const at::Tensor& matrices, const at::Tensor& bias);

}  // namespace maskmix
