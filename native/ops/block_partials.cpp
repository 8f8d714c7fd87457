#include "ops/block_partials.h"

#include "common/error.h"

#ifdef MASKMIX_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>

#include "kernels/kernels.h"
#endif

namespace maskmix {

at::Tensor sumBlockPartials(const at::Tensor& partial, at::ScalarType dtype) {
#ifdef MASKMIX_WITH_CUDA
  if (partial.is_cuda() && partial.dim() == 2 && partial.scalar_type() == at::kFloat && partial.is_contiguous()) {
    at::Tensor out = at::empty({partial.size(1)}, partial.options());
    kernels::sumPartialRows(partial.data_ptr<float>(), out.data_ptr<float>(), partial.size(0), partial.size(1),
                            at::cuda::getCurrentCUDAStream().stream());
    const char* error = kernels::lastError();
    if (error[0] != '\0') fail("INTERNAL", std::string("partial sums kernel failed: ") + error);
    return out.to(dtype);
  }
#endif
  return partial.sum(0).to(dtype);
}

}  // namespace maskmix
