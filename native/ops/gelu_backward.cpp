#include "ops/gelu_backward.h"

#include "common/error.h"
#include "ops/block_partials.h"

#ifdef MASKMIX_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>

#include "kernels/kernels.h"
#endif

namespace maskmix {

GeluBackward geluBackwardWithBiasGrad(const at::Tensor& pre, const at::Tensor& gradAct, at::ScalarType biasDtype) {
  require(pre.dim() == 2 && gradAct.sizes() == pre.sizes() && gradAct.scalar_type() == pre.scalar_type(),
          "GELU backward expects pre and its gradient as [rows, cols] of one dtype", "SHAPE_MISMATCH");
#ifdef MASKMIX_WITH_CUDA
  const at::ScalarType t = pre.scalar_type();
  if (pre.is_cuda() && (t == at::kBFloat16 || t == at::kFloat) && pre.is_contiguous() && gradAct.is_contiguous() &&
      kernels::elementwiseTakes(pre.numel(), pre.data_ptr(), gradAct.data_ptr(), gradAct.data_ptr()) && pre.size(1) % 8 == 0) {
    const int64_t rows = pre.size(0), cols = pre.size(1);
    GeluBackward out;
    out.activated = at::empty_like(pre);
    out.gradPre = at::empty_like(pre);
    at::Tensor partial = at::empty({kernels::geluBackwardRowBlocks(rows), cols}, pre.options().dtype(at::kFloat));
    kernels::geluBackward(pre.data_ptr(), gradAct.data_ptr(), out.activated.data_ptr(), out.gradPre.data_ptr(), partial.data_ptr<float>(), rows, cols,
                          t == at::kBFloat16 ? kernels::DType::BFloat16 : kernels::DType::Float32, at::cuda::getCurrentCUDAStream());
    const char* error = kernels::lastError();
    if (error[0] != '\0') fail("INTERNAL", std::string("GELU backward kernel failed: ") + error);
    out.gradBias = sumBlockPartials(partial, biasDtype);
    return out;
  }
#endif
  GeluBackward out;
  out.activated = at::gelu(pre);
  out.gradPre = at::gelu_backward(gradAct, pre);
  out.gradBias = at::sum(out.gradPre, {0}, /*keepdim=*/false, biasDtype);
  return out;
}

}  // namespace maskmix
