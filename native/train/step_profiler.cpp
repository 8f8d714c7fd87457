#include "train/step_profiler.h"

#include "common/error.h"

#ifdef MASKMIX_WITH_CUDA
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/cuda.h>
#endif

namespace maskmix {

void profileToFile(const std::function<void()>& steps, const std::string& path) {
#ifdef MASKMIX_WITH_CUDA
  namespace impl = torch::profiler::impl;
  impl::ProfilerConfig config(impl::ProfilerState::KINETO);
  std::set<impl::ActivityType> activities{impl::ActivityType::CPU, impl::ActivityType::CUDA};
  torch::autograd::profiler::prepareProfiler(config, activities);
  torch::autograd::profiler::enableProfiler(config, activities);
  try {
    steps();
    torch::cuda::synchronize();
  } catch (...) {
    torch::autograd::profiler::disableProfiler();
    throw;
  }
  auto result = torch::autograd::profiler::disableProfiler();
  result->save(path);
#else
  (void)steps;
  (void)path;
  fail("CUDA_UNAVAILABLE", "profiling needs a CUDA build of the addon (it records GPU kernels)");
#endif
}

}  // namespace maskmix
