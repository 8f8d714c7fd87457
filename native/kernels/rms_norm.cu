// RMSNorm forward and backward, one warp per row: the forward writes the normalised row straight in the compute
// dtype (bf16 under autocast) and keeps rstd; the backward accumulates the weight gradient per warp in registers
// and adds it once per warp, instead of materialising [rows, d] products.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "kernels/kernels.h"

namespace maskmix::kernels {

namespace {

constexpr int kWarp = 32;
constexpr int kMaxPerLane = 32;  // the backward handles d ≤ 32·32 = 1024 (callers fall back above)

__device__ __forceinline__ float load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const __nv_bfloat16* p, int64_t i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store(__nv_bfloat16* p, int64_t i, float v) { p[i] = __float2bfloat16(v); }

__device__ __forceinline__ float warpSum(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

template <typename Out>
__global__ void rmsNormForwardKernel(const float* x, const float* w, Out* y, float* rstd, int64_t rows, int64_t d, float eps) {
  int lane = threadIdx.x % kWarp;
  int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / kWarp;
  int64_t warps = int64_t(gridDim.x) * blockDim.x / kWarp;
  for (int64_t row = warp; row < rows; row += warps) {
    const float* xr = x + row * d;
    float sum = 0;
    for (int64_t j = lane; j < d; j += kWarp) sum += xr[j] * xr[j];
    float r = rsqrtf(warpSum(sum) / float(d) + eps);
    for (int64_t j = lane; j < d; j += kWarp) store(y, row * d + j, xr[j] * r * w[j]);
    if (lane == 0) rstd[row] = r;
  }
}

template <typename G>
__global__ void rmsNormBackwardKernel(const G* gy, const float* x, const float* w, const float* rstd, float* gx, float* gw, int64_t rows,
                                      int64_t d) {
  int lane = threadIdx.x % kWarp;
  int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / kWarp;
  int64_t warps = int64_t(gridDim.x) * blockDim.x / kWarp;
  float gwLocal[kMaxPerLane];
  for (int k = 0; k < kMaxPerLane; ++k) gwLocal[k] = 0;
  for (int64_t row = warp; row < rows; row += warps) {
    const float* xr = x + row * d;
    float r = rstd[row];
    float dot = 0;  // Σ_k w_k·gy_k·x_k
    for (int64_t j = lane; j < d; j += kWarp) dot += w[j] * load(gy, row * d + j) * xr[j];
    dot = warpSum(dot);
    float c = dot * r * r * r / float(d);
    // Unrolled with constant indices so gwLocal stays in registers.
#pragma unroll
    for (int k = 0; k < kMaxPerLane; ++k) {
      int64_t j = lane + int64_t(k) * kWarp;
      if (j < d) {
        float g = load(gy, row * d + j);
        gx[row * d + j] = r * w[j] * g - xr[j] * c;
        gwLocal[k] += g * xr[j] * r;
      }
    }
  }
#pragma unroll
  for (int k = 0; k < kMaxPerLane; ++k) {
    int64_t j = lane + int64_t(k) * kWarp;
    if (j < d) atomicAdd(&gw[j], gwLocal[k]);
  }
}

int warpBlocks(int64_t rows, int threads) {
  int64_t warpsPerBlock = threads / kWarp;
  int64_t blocks = (rows + warpsPerBlock - 1) / warpsPerBlock;
  // Enough warps to fill the GPU several times; more only multiplies the weight-gradient atomics.
  return static_cast<int>(blocks < 2048 ? blocks : 2048);
}

}  // namespace

void rmsNormForward(const float* x, const float* w, void* y, float* rstd, int64_t rows, int64_t d, float eps, DType outDtype,
                    cudaStream_t stream) {
  const int threads = 256;
  if (outDtype == DType::BFloat16)
    rmsNormForwardKernel<<<warpBlocks(rows, threads), threads, 0, stream>>>(x, w, static_cast<__nv_bfloat16*>(y), rstd, rows, d, eps);
  else
    rmsNormForwardKernel<<<warpBlocks(rows, threads), threads, 0, stream>>>(x, w, static_cast<float*>(y), rstd, rows, d, eps);
}

void rmsNormBackward(const void* gradY, DType gradDtype, const float* x, const float* w, const float* rstd, float* gx, float* gw,
                     int64_t rows, int64_t d, cudaStream_t stream) {
  const int threads = 256;
  if (gradDtype == DType::BFloat16)
    rmsNormBackwardKernel<<<warpBlocks(rows, threads), threads, 0, stream>>>(static_cast<const __nv_bfloat16*>(gradY), x, w, rstd, gx, gw,
                                                                             rows, d);
  else
    rmsNormBackwardKernel<<<warpBlocks(rows, threads), threads, 0, stream>>>(static_cast<const float*>(gradY), x, w, rstd, gx, gw, rows, d);
}

}  // namespace maskmix::kernels
