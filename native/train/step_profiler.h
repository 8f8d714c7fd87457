// Profiles training steps with libtorch's Kineto profiler (CUDA builds): CUDA kernels and the ops that launched
// them, saved as a Chrome trace that `maskmix bench --profile` summarises.
#pragma once

#include <functional>
#include <string>

namespace maskmix {

// Runs `steps` (which must finish its device work) under the profiler and writes the trace to `path`.
void profileToFile(const std::function<void()>& steps, const std::string& path);

}  // namespace maskmix
