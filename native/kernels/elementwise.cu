// Fused elementwise kernels of the Llama baseline: SwiGLU forward/backward and rotary positions. Each reads its
// inputs once and writes its outputs once (libtorch's composite versions take 3-5 passes each), in float32
// arithmetic whatever the storage dtype.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "kernels/kernels.h"

namespace maskmix::kernels {

namespace {

__device__ __forceinline__ float load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const __nv_bfloat16* p, int64_t i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store(__nv_bfloat16* p, int64_t i, float v) { p[i] = __float2bfloat16(v); }

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + __expf(-x)); }

int blocksFor(int64_t n, int threads) {
  int64_t blocks = (n + threads - 1) / threads;
  return static_cast<int>(blocks < 65535 * 8 ? blocks : 65535 * 8);
}

template <typename T>
__global__ void swigluForwardKernel(const T* gate, const T* up, T* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float g = load(gate, i);
    store(out, i, g * sigmoid(g) * load(up, i));
  }
}

template <typename T>
__global__ void swigluBackwardKernel(const T* gradOut, const T* gate, const T* up, T* gradGate, T* gradUp, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float g = load(gate, i), u = load(up, i), go = load(gradOut, i);
    float s = sigmoid(g);
    float silu = g * s;
    // d silu(g)/dg = s · (1 + g · (1 − s))
    store(gradGate, i, go * u * s * (1.0f + g * (1.0f - s)));
    store(gradUp, i, go * silu);
  }
}

template <typename T>
__global__ void rotaryKernel(const T* x, T* out, const float* cosTable, const float* sinTable, int64_t pairs, int64_t positions,
                             int64_t heads, int64_t headDim, float direction) {
  int64_t half = headDim / 2;
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < pairs; p += int64_t(gridDim.x) * blockDim.x) {
    int64_t j = p % half;
    int64_t row = p / half;                    // (b, t, h) flattened
    int64_t pos = (row / heads) % positions;   // t
    int64_t base = row * headDim;
    float c = cosTable[pos * headDim + j];
    float s = direction * sinTable[pos * headDim + j];
    float x1 = load(x, base + j), x2 = load(x, base + j + half);
    store(out, base + j, x1 * c - x2 * s);
    store(out, base + j + half, x2 * c + x1 * s);
  }
}

}  // namespace

void swigluForward(const void* gate, const void* up, void* out, int64_t n, DType dtype, cudaStream_t stream) {
  const int threads = 256;
  if (dtype == DType::BFloat16)
    swigluForwardKernel<<<blocksFor(n, threads), threads, 0, stream>>>(static_cast<const __nv_bfloat16*>(gate), static_cast<const __nv_bfloat16*>(up),
                                                                       static_cast<__nv_bfloat16*>(out), n);
  else
    swigluForwardKernel<<<blocksFor(n, threads), threads, 0, stream>>>(static_cast<const float*>(gate), static_cast<const float*>(up),
                                                                       static_cast<float*>(out), n);
}

void swigluBackward(const void* gradOut, const void* gate, const void* up, void* gradGate, void* gradUp, int64_t n, DType dtype,
                    cudaStream_t stream) {
  const int threads = 256;
  if (dtype == DType::BFloat16)
    swigluBackwardKernel<<<blocksFor(n, threads), threads, 0, stream>>>(
        static_cast<const __nv_bfloat16*>(gradOut), static_cast<const __nv_bfloat16*>(gate), static_cast<const __nv_bfloat16*>(up),
        static_cast<__nv_bfloat16*>(gradGate), static_cast<__nv_bfloat16*>(gradUp), n);
  else
    swigluBackwardKernel<<<blocksFor(n, threads), threads, 0, stream>>>(static_cast<const float*>(gradOut), static_cast<const float*>(gate),
                                                                        static_cast<const float*>(up), static_cast<float*>(gradGate),
                                                                        static_cast<float*>(gradUp), n);
}

void rotary(const void* x, void* out, const float* cos, const float* sin, int64_t batch, int64_t positions, int64_t heads, int64_t headDim,
            bool inverse, DType dtype, cudaStream_t stream) {
  const int threads = 256;
  int64_t pairs = batch * positions * heads * (headDim / 2);
  float direction = inverse ? -1.0f : 1.0f;
  if (dtype == DType::BFloat16)
    rotaryKernel<<<blocksFor(pairs, threads), threads, 0, stream>>>(static_cast<const __nv_bfloat16*>(x), static_cast<__nv_bfloat16*>(out), cos, sin,
                                                                    pairs, positions, heads, headDim, direction);
  else
    rotaryKernel<<<blocksFor(pairs, threads), threads, 0, stream>>>(static_cast<const float*>(x), static_cast<float*>(out), cos, sin, pairs,
                                                                    positions, heads, headDim, direction);
}

const char* lastError() {
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? "" : cudaGetErrorString(e);
}

}  // namespace maskmix::kernels
