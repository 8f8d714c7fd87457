// Would the feed-forward's GELU pay inside the GEMM's epilogue? Times, on the mixer's L8 shapes (16,384 tokens,
// d 1024, hidden 4096), what the training step does now (cuBLAS through libtorch, then the GELU as its own pass)
// beside CUTLASS GEMMs that do the GELU in their epilogue (cutlass_gemms.cu), and checks that both give the same
// numbers. Built and run by run.sh on a GPU machine; prints one line per measurement.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "probe_gemm.h"

namespace {

// Median of `reps` timings (CUDA events around each call) after `warm` untimed calls, in ms.
double medianMs(const std::function<void()>& call, int warm = 10, int reps = 50) {
  for (int i = 0; i < warm; ++i) call();
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
  std::vector<double> times;
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  for (int i = 0; i < reps; ++i) {
    cudaEventRecord(start, stream);
    call();
    cudaEventRecord(stop, stream);
    cudaEventSynchronize(stop);
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    times.push_back(ms);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// ‖x − reference‖ / ‖reference‖ in float32.
double relativeError(const at::Tensor& x, const at::Tensor& reference) {
  at::Tensor r = reference.to(at::kFloat);
  return (x.to(at::kFloat) - r).norm().item<double>() / r.norm().item<double>();
}

void report(const char* what, double ms, double baselineMs) {
  std::printf("%-58s %8.3f ms  (%.3f × the cuBLAS path)\n", what, ms, baselineMs / ms);
}

// d = a · (b, as the kind takes it): the operands and sizes every kind shares.
ProbeGemm problem(const at::Tensor& a, const at::Tensor& b, const at::Tensor& d) {
  ProbeGemm g;
  g.a = a.data_ptr();
  g.b = b.data_ptr();
  g.d = d.data_ptr();
  g.m = static_cast<int>(a.size(0)), g.n = static_cast<int>(d.size(1)), g.k = static_cast<int>(a.size(1));
  return g;
}

bool check(const char* error, const char* what) {
  if (error[0] == '\0') return true;
  std::printf("%s: %s\n", what, error);
  return false;
}

}  // namespace

int main() {
  const int64_t m = 16384, d = 1024, f = 4096;
  at::manual_seed(0);
  auto options = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  at::Tensor x = at::randn({m, d}, options);
  at::Tensor w1 = at::randn({f, d}, options) * 0.03;
  at::Tensor b1 = at::randn({f}, options) * 0.1;
  at::Tensor w2 = at::randn({d, f}, options) * 0.015;
  at::Tensor dy = at::randn({m, d}, options);
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
  cudaDeviceProp properties;
  cudaGetDeviceProperties(&properties, 0);
  std::printf("%s, %lld tokens, d %lld, hidden %lld, bf16\n", properties.name,
              static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(f));

  // Forward: h = x·W1ᵀ + b1 (kept for backward), a = GELU(h).
  at::Tensor h = at::addmm(b1, x, w1.t());
  at::Tensor a = at::gelu(h);
  const double addmmMs = medianMs([&] { at::addmm_out(h, b1, x, w1.t()); });
  const double geluMs = medianMs([&] { at::gelu_out(a, h); });
  const double forwardMs = addmmMs + geluMs;
  std::printf("%-58s %8.3f ms\n", "cuBLAS addmm (bias epilogue)", addmmMs);
  std::printf("%-58s %8.3f ms\n", "GELU as its own pass", geluMs);
  at::Tensor h2 = at::empty_like(h), a2 = at::empty_like(a);
  for (int config = 0; config < 3; ++config) {
    ProbeGemm g = problem(x, w1, h2);
    g.bias = b1.data_ptr();
    std::string name = "CUTLASS bias epilogue, config " + std::to_string(config);
    if (!check(probeBias(config, g, stream), name.c_str())) continue;
    report(name.c_str(), medianMs([&] { probeBias(config, g, stream); }), addmmMs);
    std::printf("    h against addmm: relative error %.2e\n", relativeError(h2, h));
    g.d = a2.data_ptr();
    g.auxOut = h2.data_ptr();
    name = "CUTLASS bias + GELU epilogue (h kept), config " + std::to_string(config);
    if (!check(probeBiasGelu(config, g, stream), name.c_str())) continue;
    report(name.c_str(), medianMs([&] { probeBiasGelu(config, g, stream); }), forwardMs);
    std::printf("    GELU(h) against addmm + gelu: relative error %.2e; h %.2e\n", relativeError(a2, a), relativeError(h2, h));
  }

  // Backward through the GELU: da = dy·W2, dh = da ⊙ GELU′(h); the step also needs a = GELU(h) again (W2's
  // gradient), which maskmix's GELU-backward kernel writes in the same pass.
  at::Tensor da = at::mm(dy, w2);
  at::Tensor dh = at::gelu_backward(da, h);
  const double mmMs = medianMs([&] { at::mm_out(da, dy, w2); });
  const double geluGradMs = medianMs([&] { at::gelu_backward_out(dh, da, h); });
  std::printf("%-58s %8.3f ms\n", "cuBLAS mm (da)", mmMs);
  std::printf("%-58s %8.3f ms\n", "gelu_backward as its own pass (libtorch)", geluGradMs);
  std::printf("%-58s %8.3f ms\n", "GELU(h) again as its own pass", geluMs);
  const double backwardMs = mmMs + geluGradMs + geluMs;
  at::Tensor dh2 = at::empty_like(dh);
  for (int config = 0; config < 3; ++config) {
    ProbeGemm g = problem(dy, w2, dh2);
    g.auxIn = h.data_ptr();
    std::string name = "CUTLASS GELU′ epilogue, config " + std::to_string(config);
    if (!check(probeGeluGrad(config, g, stream), name.c_str())) continue;
    const double ms = medianMs([&] { probeGeluGrad(config, g, stream); });
    report(name.c_str(), ms, mmMs + geluGradMs);
    report("    ... and GELU(h) again as its own pass", ms + geluMs, backwardMs);
    std::printf("    dh against mm + gelu_backward: relative error %.2e\n", relativeError(dh2, dh));
  }
  return 0;
}
