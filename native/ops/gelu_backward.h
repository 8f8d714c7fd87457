// The feed-forward sublayer's backward around its GELU: GELU(pre) again (recomputed, not saved), the gradient of
// pre, and b1's gradient (its column sums), as one CUDA kernel where it applies (kernels/gelu_backward.cu) and as
// libtorch ops otherwise (CPU, float64, odd shapes): the path the kernel is checked against.
#pragma once

#include <ATen/ATen.h>

namespace maskmix {

struct GeluBackward {
  at::Tensor activated;  // GELU(pre), pre's dtype
  at::Tensor gradPre;    // GELU'(pre) · gradAct, pre's dtype
  at::Tensor gradBias;   // Σ over rows of gradPre, in biasDtype
};

// pre, gradAct: [rows, cols] of one dtype. Exact (erf) GELU, as torch.nn.GELU().
GeluBackward geluBackwardWithBiasGrad(const at::Tensor& pre, const at::Tensor& gradAct, at::ScalarType biasDtype);

}  // namespace maskmix
