// Starting a CUDA-graph capture the way every maskmix graph does. Only compiled into CUDA builds.
#pragma once

#ifdef MASKMIX_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>

#include "common/torch_compat.h"

namespace maskmix {

// Captures only the launching thread's unsafe calls (2.x: thread-local mode), so other threads of the addon — Node's
// worker pool, libtorch's autograd device thread — may keep making CUDA calls meanwhile. Work any thread queues on
// the capturing stream is still captured.
inline void beginThreadLocalCapture(at::cuda::CUDAGraph& graph) {
#if MASKMIX_TORCH_AT_LEAST(2, 0)
  graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
#else
  graph.capture_begin();
#endif
}

}  // namespace maskmix
#endif
