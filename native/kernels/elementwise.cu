// Fused elementwise kernels of the Llama baseline: SwiGLU forward/backward and rotary positions. Each reads its
// inputs once and writes its outputs once in 16-byte chunks (libtorch's composite versions take 3-5 passes each),
// in float32 arithmetic whatever the storage dtype. Callers ensure sizes divide into 8-element chunks.
#include "kernels/kernels.h"
#include "kernels/vector_access.cuh"

namespace maskmix::kernels {

namespace {

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + __expf(-x)); }

int blocksFor(int64_t work, int threads) {
  int64_t blocks = (work + threads - 1) / threads;
  return static_cast<int>(blocks < 132 * 32 ? blocks : 132 * 32);
}

template <typename T>
__global__ void swigluForwardKernel(const T* gate, const T* up, T* out, int64_t chunks) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < chunks; i += int64_t(gridDim.x) * blockDim.x) {
    float g[kChunk], u[kChunk], o[kChunk];
    load8(gate + i * kChunk, g);
    load8(up + i * kChunk, u);
#pragma unroll
    for (int k = 0; k < kChunk; ++k) o[k] = g[k] * sigmoid(g[k]) * u[k];
    store8(out + i * kChunk, o);
  }
}

// With product (may be null): silu(gate)·up again, written in the same pass (what a backward that did not save it
// needs for the down projection's weight gradient).
template <typename T>
__global__ void swigluBackwardKernel(const T* gradOut, const T* gate, const T* up, T* gradGate, T* gradUp, T* product, int64_t chunks) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < chunks; i += int64_t(gridDim.x) * blockDim.x) {
    float g[kChunk], u[kChunk], go[kChunk], gg[kChunk], gu[kChunk], p[kChunk];
    load8(gate + i * kChunk, g);
    load8(up + i * kChunk, u);
    load8(gradOut + i * kChunk, go);
#pragma unroll
    for (int k = 0; k < kChunk; ++k) {
      float s = sigmoid(g[k]);
      // d silu(g)/dg = s · (1 + g · (1 − s))
      gg[k] = go[k] * u[k] * s * (1.0f + g[k] * (1.0f - s));
      gu[k] = go[k] * g[k] * s;
      p[k] = g[k] * s * u[k];
    }
    store8(gradGate + i * kChunk, gg);
    store8(gradUp + i * kChunk, gu);
    if (product != nullptr) store8(product + i * kChunk, p);
  }
}

// One thread per 8 consecutive pair indices j..j+7 of one (batch, position, head) row.
template <typename T>
__global__ void rotaryKernel(const T* x, T* out, const float* cosTable, const float* sinTable, int64_t work, int64_t positions,
                             int64_t heads, int headDim, float direction) {
  int half = headDim / 2;
  int chunksPerRow = half / kChunk;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < work; i += int64_t(gridDim.x) * blockDim.x) {
    int j = (i % chunksPerRow) * kChunk;
    int64_t row = i / chunksPerRow;          // (b, t, h) flattened
    int64_t pos = (row / heads) % positions;  // t
    const T* xr = x + row * headDim;
    T* outr = out + row * headDim;
    float x1[kChunk], x2[kChunk], c[kChunk], s[kChunk], o1[kChunk], o2[kChunk];
    load8(xr + j, x1);
    load8(xr + j + half, x2);
    load8(cosTable + pos * headDim + j, c);
    load8(sinTable + pos * headDim + j, s);
#pragma unroll
    for (int k = 0; k < kChunk; ++k) {
      float sk = direction * s[k];
      o1[k] = x1[k] * c[k] - x2[k] * sk;
      o2[k] = x2[k] * c[k] + x1[k] * sk;
    }
    store8(outr + j, o1);
    store8(outr + j + half, o2);
  }
}

}  // namespace

void swigluForward(const void* gate, const void* up, void* out, int64_t n, DType dtype, cudaStream_t stream) {
  const int threads = 256;
  int64_t chunks = n / kChunk;
  if (dtype == DType::BFloat16)
    swigluForwardKernel<<<blocksFor(chunks, threads), threads, 0, stream>>>(static_cast<const __nv_bfloat16*>(gate),
                                                                            static_cast<const __nv_bfloat16*>(up), static_cast<__nv_bfloat16*>(out), chunks);
  else
    swigluForwardKernel<<<blocksFor(chunks, threads), threads, 0, stream>>>(static_cast<const float*>(gate), static_cast<const float*>(up),
                                                                            static_cast<float*>(out), chunks);
}

void swigluBackward(const void* gradOut, const void* gate, const void* up, void* gradGate, void* gradUp, void* product, int64_t n,
                    DType dtype, cudaStream_t stream) {
  const int threads = 256;
  int64_t chunks = n / kChunk;
  if (dtype == DType::BFloat16)
    swigluBackwardKernel<<<blocksFor(chunks, threads), threads, 0, stream>>>(
        static_cast<const __nv_bfloat16*>(gradOut), static_cast<const __nv_bfloat16*>(gate), static_cast<const __nv_bfloat16*>(up),
        static_cast<__nv_bfloat16*>(gradGate), static_cast<__nv_bfloat16*>(gradUp), static_cast<__nv_bfloat16*>(product), chunks);
  else
    swigluBackwardKernel<<<blocksFor(chunks, threads), threads, 0, stream>>>(
        static_cast<const float*>(gradOut), static_cast<const float*>(gate), static_cast<const float*>(up), static_cast<float*>(gradGate),
        static_cast<float*>(gradUp), static_cast<float*>(product), chunks);
}

void rotary(const void* x, void* out, const float* cos, const float* sin, int64_t batch, int64_t positions, int64_t heads, int64_t headDim,
            bool inverse, DType dtype, cudaStream_t stream) {
  const int threads = 256;
  int64_t work = batch * positions * heads * (headDim / 2 / kChunk);
  float direction = inverse ? -1.0f : 1.0f;
  if (dtype == DType::BFloat16)
    rotaryKernel<<<blocksFor(work, threads), threads, 0, stream>>>(static_cast<const __nv_bfloat16*>(x), static_cast<__nv_bfloat16*>(out), cos,
                                                                   sin, work, positions, heads, int(headDim), direction);
  else
    rotaryKernel<<<blocksFor(work, threads), threads, 0, stream>>>(static_cast<const float*>(x), static_cast<float*>(out), cos, sin, work,
                                                                   positions, heads, int(headDim), direction);
}

bool elementwiseTakes(int64_t n, const void* a, const void* b, const void* c) {
  return n % kChunk == 0 && aligned16(a) && aligned16(b) && aligned16(c);
}

const char* lastError() {
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? "" : cudaGetErrorString(e);
}

}  // namespace maskmix::kernels
