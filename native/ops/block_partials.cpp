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

at::Tensor sumOverRows(const at::Tensor& x, at::ScalarType dtype) {
#ifdef MASKMIX_WITH_CUDA
  const at::ScalarType t = x.scalar_type();
  if (x.is_cuda() && x.dim() == 2 && (t == at::kBFloat16 || t == at::kFloat) && x.is_contiguous() && x.size(1) % 8 == 0 &&
      x.size(0) > 0 && kernels::elementwiseTakes(x.numel(), x.data_ptr(), x.data_ptr(), x.data_ptr())) {
    at::Tensor partial = at::empty({kernels::columnSumPartialRows(x.size(0)), x.size(1)}, x.options().dtype(at::kFloat));
    kernels::columnSumPartials(x.data_ptr(), t == at::kBFloat16 ? kernels::DType::BFloat16 : kernels::DType::Float32, partial.data_ptr<float>(),
                               x.size(0), x.size(1), at::cuda::getCurrentCUDAStream().stream());
    const char* error = kernels::lastError();
    if (error[0] != '\0') fail("INTERNAL", std::string("column sums kernel failed: ") + error);
    return sumBlockPartials(partial, dtype);
  }
#endif
  return at::sum(x, {0}, /*keepdim=*/false, dtype);
}

}  // namespace maskmix
