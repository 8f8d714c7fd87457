#include "bindings/runtime_binding.h"

#include <ATen/Parallel.h>
#include <cstdint>
#include <string>
#include <torch/cuda.h>
#include <torch/version.h>

#include "common/js_object.h"
#include "common/napi_guard.h"

#ifdef MASKMIX_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime_api.h>
#endif

#if defined(MASKMIX_WITH_CUDA) && defined(USE_C10D_NCCL)
// Declared here rather than through torch/csrc/cuda/nccl.h, which drags in nccl.h's types; libtorch_cuda exports it
// as ((major << 32) | (minor << 16) | patch) in 2.x.
namespace torch::cuda::nccl {
std::uint64_t version();
}
#endif

namespace maskmix {

namespace {

Napi::Value runtimeInfo(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("torchVersion", TORCH_VERSION);
    o.Set("numThreads", at::get_num_threads());
#ifdef MASKMIX_WITH_CUDA
    o.Set("builtWithCuda", true);
#else
    o.Set("builtWithCuda", false);
#endif
    o.Set("cudaAvailable", torch::cuda::is_available());
    Napi::Array devices = Napi::Array::New(env);
#ifdef MASKMIX_WITH_CUDA
    if (torch::cuda::is_available()) {
      int count = static_cast<int>(torch::cuda::device_count());
      for (int i = 0; i < count; ++i) {
        const cudaDeviceProp* p = at::cuda::getDeviceProperties(i);
        size_t freeBytes = 0, totalBytes = 0;
        cudaSetDevice(i);
        cudaMemGetInfo(&freeBytes, &totalBytes);
        Napi::Object d = Napi::Object::New(env);
        d.Set("index", i);
        d.Set("name", p->name);
        d.Set("sm", std::to_string(p->major) + "." + std::to_string(p->minor));
        d.Set("totalMemory", static_cast<double>(totalBytes));
        d.Set("freeMemory", static_cast<double>(freeBytes));
        devices.Set(static_cast<uint32_t>(i), d);
      }
    }
    int runtime = 0, driver = 0;
    cudaRuntimeGetVersion(&runtime);
    cudaDriverGetVersion(&driver);
    o.Set("cudaRuntimeVersion", runtime);
    o.Set("cudaDriverVersion", driver);
#endif
#if defined(MASKMIX_WITH_CUDA) && defined(USE_C10D_NCCL)
    const std::uint64_t nccl = torch::cuda::nccl::version();
    o.Set("ncclVersion", std::to_string(nccl >> 32) + "." + std::to_string((nccl >> 16) & 0xffff) + "." +
                             std::to_string(nccl & 0xffff));
#endif
    o.Set("devices", devices);
    return o;
  });
}

// cudaMemory(device, { resetPeak }): { allocated, peakAllocated, reserved } bytes of libtorch's caching allocator
// on that GPU (index 0 of the stat arrays is the aggregate over pools in every libtorch version).
Napi::Value cudaMemory(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    require(info.Length() > 0 && info[0].IsNumber(), "cudaMemory(deviceIndex: number, options?)");
    int index = info[0].As<Napi::Number>().Int32Value();
    bool resetPeak = booleanField(objectArg(info, 1, "options"), "resetPeak", false);
#ifdef MASKMIX_WITH_CUDA
    require(torch::cuda::is_available() && index >= 0 && index < static_cast<int>(torch::cuda::device_count()),
            "no CUDA device " + std::to_string(index), "CUDA_UNAVAILABLE");
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("allocated", static_cast<double>(stats.allocated_bytes[0].current));
    o.Set("peakAllocated", static_cast<double>(stats.allocated_bytes[0].peak));
    o.Set("reserved", static_cast<double>(stats.reserved_bytes[0].current));
    if (resetPeak) c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(index));
    return o;
#else
    (void)index;
    (void)resetPeak;
    fail("CUDA_UNAVAILABLE", "this maskmix addon was built without CUDA");
#endif
  });
}

// synchronize(): waits for all queued GPU work (a no-op without CUDA).
Napi::Value synchronizeDevices(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
#ifdef MASKMIX_WITH_CUDA
    if (torch::cuda::is_available()) torch::cuda::synchronize();
#endif
    return info.Env().Undefined();
  });
}

Napi::Value setNumThreads(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    int64_t n = positiveIntegerArg(info, 0, "threads");
    at::set_num_threads(static_cast<int>(n));
    return info.Env().Undefined();
  });
}

}  // namespace

void defineRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("runtimeInfo", Napi::Function::New(env, runtimeInfo, "runtimeInfo"));
  exports.Set("setNumThreads", Napi::Function::New(env, setNumThreads, "setNumThreads"));
  exports.Set("cudaMemory", Napi::Function::New(env, cudaMemory, "cudaMemory"));
  exports.Set("synchronize", Napi::Function::New(env, synchronizeDevices, "synchronize"));
}

}  // namespace maskmix
