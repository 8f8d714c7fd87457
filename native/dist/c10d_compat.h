// What differs between the c10d of libtorch 1.13 (Debian, CPU, Gloo) and 2.x (CUDA, NCCL), in one place.
//  - 1.13: ProcessGroupGloo/NCCL derive from c10d::ProcessGroup. 2.x: they derive from c10d::Backend, and
//    c10d::ProcessGroup became a dispatcher over backends. Either base has the virtual collectives we call
//    (allreduce, broadcast, barrier on std::vector<at::Tensor>&), so we hold the backend through that base.
//  - Backends exist only when libtorch was built with them (USE_C10D_GLOO / USE_C10D_NCCL, which libtorch's CMake
//    targets define for us) and their headers can be found (Gloo's on Debian: libgloo-dev; nccl.h, see below).
#pragma once

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#include "common/torch_compat.h"

#if MASKMIX_TORCH_AT_LEAST(2, 0)
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif

#if defined(USE_C10D_GLOO) && __has_include(<gloo/config.h>)
#define MASKMIX_WITH_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

// ProcessGroupNCCL.hpp includes <nccl.h>, which pip's torch keeps in the nvidia-nccl package rather than in
// torch/include; CMakeLists.txt adds its folder when find-libtorch.mjs finds it. Without it: no NCCL, not a broken build.
#if defined(MASKMIX_WITH_CUDA) && defined(USE_C10D_NCCL) && __has_include(<nccl.h>)
#define MASKMIX_WITH_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace maskmix::compat {

#if MASKMIX_TORCH_AT_LEAST(2, 0)
using CollectiveBackend = c10d::Backend;
#else
using CollectiveBackend = c10d::ProcessGroup;
#endif

}  // namespace maskmix::compat
