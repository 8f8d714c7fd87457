// Time spent in training steps as the device sees it: CUDA events around each step on a GPU (so host-side
// queueing does not count), the host clock on the CPU. Read back only when asked, like the loss.
#pragma once

#include <ATen/ATen.h>

#include <chrono>
#include <memory>

namespace maskmix {

class StepTimer {
 public:
  StepTimer();
  ~StepTimer();
  void begin(const at::Device& device);
  void end();
  // Total milliseconds of the steps timed since the last call, and how many; waits for the device.
  std::pair<double, int64_t> take();

 private:
  struct CudaEvents;
  std::unique_ptr<CudaEvents> cuda_;
  bool onCuda_ = false;
  std::chrono::steady_clock::time_point hostStart_;
  double hostMs_ = 0;
  int64_t count_ = 0;
};

}  // namespace maskmix
