// AdamW over many float32 tensors in one launch, as PyTorch's fused kernel computes it (torch.optim.AdamW with
// fused=True: the same order of operations), plus what that kernel cannot do: write a bf16 copy of each updated
// weight in the same pass. The bf16 forward then reads that copy instead of casting the weight again (49 casts, 0.27
// ms of the L8 mixer's step on an H100), and the copy costs 2 bytes a weight here instead of 6 there.
#include <cuda_bf16.h>

#include "kernels/kernels.h"

namespace maskmix::kernels {

namespace {

constexpr int kThreads = 256;

struct Update {
  float decay, stepSize, bias2Sqrt, divisor;
};

__device__ __forceinline__ void adamWOne(float& param, float& grad, float& avg, float& avgSq, const AdamWHyper& h, const Update& u) {
  grad /= u.divisor;
  param -= h.weightDecay == 0.f ? 0.f : u.decay * param;
  avg = h.beta1 * avg + (1.f - h.beta1) * grad;
  avgSq = h.beta2 * avgSq + (1.f - h.beta2) * grad * grad;
  const float denom = sqrtf(avgSq) / u.bias2Sqrt + h.epsilon;
  param -= u.stepSize * avg / denom;
}

// What one launch takes, by value in the kernel's parameters (≈ 2.6 KB of the 4 KB allowed).
struct Launch {
  AdamWBatch batch;
  int64_t firstChunk[kAdamWTensors + 1];  // tensor i owns blocks [firstChunk[i], firstChunk[i + 1])
  AdamWHyper hyper;
};

__global__ void __launch_bounds__(kThreads) adamWKernel(const __grid_constant__ Launch launch) {
  const AdamWHyper& h = launch.hyper;
  if (h.skip != nullptr && *h.skip != 0.f) return;  // a non-finite step: nothing moves (found_inf)
  int tensor = 0;
  while (launch.firstChunk[tensor + 1] <= int64_t(blockIdx.x)) ++tensor;
  const AdamWTensor& t = launch.batch.tensors[tensor];
  const float lr = h.lr != nullptr ? *h.lr : h.lrValue;
  const float step = *t.step;
  Update u;
  u.decay = lr * h.weightDecay;
  u.stepSize = lr / (1.f - powf(h.beta1, step));
  u.bias2Sqrt = sqrtf(1.f - powf(h.beta2, step));
  u.divisor = h.gradDivisor != nullptr ? *h.gradDivisor : 1.f;
  const int64_t first = (int64_t(blockIdx.x) - launch.firstChunk[tensor]) * kAdamWChunk;
  const int64_t end = first + kAdamWChunk < t.numel ? first + kAdamWChunk : t.numel;
  __nv_bfloat16* copy = static_cast<__nv_bfloat16*>(t.copy);
  // Four adjacent elements a thread: 16-byte accesses (every tensor starts 16-byte aligned, chunks are multiples of 4).
  for (int64_t i = first + 4 * int64_t(threadIdx.x); i < end; i += 4 * kThreads) {
    if (i + 4 <= end) {
      float4 p = *reinterpret_cast<const float4*>(t.param + i), g = *reinterpret_cast<const float4*>(t.grad + i);
      float4 m = *reinterpret_cast<const float4*>(t.avg + i), v = *reinterpret_cast<const float4*>(t.avgSq + i);
      adamWOne(p.x, g.x, m.x, v.x, h, u);
      adamWOne(p.y, g.y, m.y, v.y, h, u);
      adamWOne(p.z, g.z, m.z, v.z, h, u);
      adamWOne(p.w, g.w, m.w, v.w, h, u);
      *reinterpret_cast<float4*>(t.param + i) = p;
      *reinterpret_cast<float4*>(t.avg + i) = m;
      *reinterpret_cast<float4*>(t.avgSq + i) = v;
      if (h.gradDivisor != nullptr) *reinterpret_cast<float4*>(t.grad + i) = g;  // the gradients keep the divided values
      if (copy != nullptr) {
        __nv_bfloat162 pair[2] = {__floats2bfloat162_rn(p.x, p.y), __floats2bfloat162_rn(p.z, p.w)};
        *reinterpret_cast<uint2*>(copy + i) = *reinterpret_cast<const uint2*>(pair);
      }
    } else {
      for (int64_t j = i; j < end; ++j) {
        adamWOne(t.param[j], t.grad[j], t.avg[j], t.avgSq[j], h, u);
        if (copy != nullptr) copy[j] = __float2bfloat16_rn(t.param[j]);
      }
    }
  }
}

}  // namespace

void adamW(const AdamWBatch& batch, const AdamWHyper& hyper, cudaStream_t stream) {
  Launch launch;
  launch.batch = batch;
  launch.hyper = hyper;
  launch.firstChunk[0] = 0;
  for (int i = 0; i < kAdamWTensors; ++i) {
    const int64_t chunks = i < batch.count ? (batch.tensors[i].numel + kAdamWChunk - 1) / kAdamWChunk : 0;
    launch.firstChunk[i + 1] = launch.firstChunk[i] + chunks;
  }
  const int64_t blocks = launch.firstChunk[kAdamWTensors];
  if (blocks == 0) return;
  adamWKernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(launch);
}

}  // namespace maskmix::kernels
