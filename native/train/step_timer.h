// Time spent in training steps as the device sees it: CUDA events around each step on a GPU (so host-side
// queueing does not count), the host clock on the CPU. Read back only when asked, like the loss.
#pragma once

#include <ATen/ATen.h>

#include <chrono>
#include <memory>
#include <vector>

namespace maskmix {

class StepTimer {
 public:
  StepTimer();
  ~StepTimer();
  void begin(const at::Device& device);
  void end();
  // Milliseconds of each step timed since the last call, in order; waits for the device.
  std::vector<double> take();

 private:
  struct CudaEvents;
  std::unique_ptr<CudaEvents> cuda_;
  bool onCuda_ = false;
  std::chrono::steady_clock::time_point hostStart_;
  std::vector<double> hostMs_;
};

}  // namespace maskmix
