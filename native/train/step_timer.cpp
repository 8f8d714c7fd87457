#include "train/step_timer.h"

#include <vector>

#ifdef MASKMIX_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#endif

namespace maskmix {

#ifdef MASKMIX_WITH_CUDA
struct StepTimer::CudaEvents {
  std::vector<std::pair<std::unique_ptr<at::cuda::CUDAEvent>, std::unique_ptr<at::cuda::CUDAEvent>>> pending;
};
#else
struct StepTimer::CudaEvents {};
#endif

StepTimer::StepTimer() : cuda_(std::make_unique<CudaEvents>()) {}
StepTimer::~StepTimer() = default;

void StepTimer::begin(const at::Device& device) {
  onCuda_ = device.is_cuda();
#ifdef MASKMIX_WITH_CUDA
  if (onCuda_) {
    auto start = std::make_unique<at::cuda::CUDAEvent>(cudaEventDefault);
    start->record();
    cuda_->pending.emplace_back(std::move(start), nullptr);
    return;
  }
#endif
  hostStart_ = std::chrono::steady_clock::now();
}

void StepTimer::end() {
#ifdef MASKMIX_WITH_CUDA
  if (onCuda_) {
    auto stop = std::make_unique<at::cuda::CUDAEvent>(cudaEventDefault);
    stop->record();
    cuda_->pending.back().second = std::move(stop);
    return;
  }
#endif
  hostMs_.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - hostStart_).count());
}

std::vector<double> StepTimer::take() {
  std::vector<double> out;
  out.swap(hostMs_);
#ifdef MASKMIX_WITH_CUDA
  for (auto& [start, stop] : cuda_->pending) {
    if (!stop) continue;
    stop->synchronize();
    out.push_back(start->elapsed_time(*stop));
  }
  cuda_->pending.clear();
#endif
  return out;
}

}  // namespace maskmix
