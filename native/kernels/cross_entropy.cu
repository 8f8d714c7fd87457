// Next-token cross-entropy over one chunk of logit rows, in place: one block per row reads the row for its max,
// again for its log-sum-exp, then overwrites it with d loss / d logits = (softmax − onehot) · scale (scale =
// 1/targets counted, a device scalar, 0 for ignored rows). Replaces ~10 libtorch passes over a float32 copy of
// the chunk with three passes over the bf16 logits the GEMM wrote.
#include <cfloat>

#include "kernels/kernels.h"
#include "kernels/vector_access.cuh"

namespace maskmix::kernels {

namespace {

constexpr int kThreads = 256;

// Block-wide reduction (max or sum) through warp shuffles and a small shared array.
template <bool IsMax>
__device__ float blockReduce(float v, float* shared) {
  for (int offset = 16; offset > 0; offset /= 2) {
    float other = __shfl_xor_sync(0xffffffffu, v, offset);
    v = IsMax ? fmaxf(v, other) : v + other;
  }
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // shared may still be read by a previous reduction
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = threadIdx.x < kThreads / 32 ? shared[threadIdx.x] : (IsMax ? -FLT_MAX : 0.0f);
  if (warp == 0)
    for (int offset = 16; offset > 0; offset /= 2) {
      float other = __shfl_xor_sync(0xffffffffu, v, offset);
      v = IsMax ? fmaxf(v, other) : v + other;
    }
  if (threadIdx.x == 0) shared[0] = v;
  __syncthreads();
  return shared[0];
}

template <typename T>
__global__ void crossEntropyRowsKernel(T* logits, const int64_t* targets, int64_t ignoreIndex, const float* scale, float* lossSum, int vocab,
                                       bool writeGrad) {
  __shared__ float shared[kThreads / 32];
  T* row = logits + blockIdx.x * int64_t(vocab);
  int chunks = vocab / kChunk;
  float localMax = -FLT_MAX;
  for (int c = threadIdx.x; c < chunks; c += kThreads) {
    float v[kChunk];
    load8(row + c * kChunk, v);
#pragma unroll
    for (int k = 0; k < kChunk; ++k) localMax = fmaxf(localMax, v[k]);
  }
  float rowMax = blockReduce<true>(localMax, shared);
  float localSum = 0;
  for (int c = threadIdx.x; c < chunks; c += kThreads) {
    float v[kChunk];
    load8(row + c * kChunk, v);
#pragma unroll
    for (int k = 0; k < kChunk; ++k) localSum += __expf(v[k] - rowMax);
  }
  float lse = rowMax + __logf(blockReduce<false>(localSum, shared));
  int64_t target = targets[blockIdx.x];
  bool valid = target != ignoreIndex && target >= 0 && target < vocab;
  if (threadIdx.x == 0 && valid) {
    float v[kChunk];
    load8(row + (target / kChunk) * kChunk, v);
    atomicAdd(lossSum, lse - v[target % kChunk]);
  }
  if (!writeGrad) return;
  __syncthreads();  // the target logit is read before the row is overwritten
  float s = valid ? *scale : 0.0f;
  for (int c = threadIdx.x; c < chunks; c += kThreads) {
    float v[kChunk];
    load8(row + c * kChunk, v);
#pragma unroll
    for (int k = 0; k < kChunk; ++k) {
      int64_t j = int64_t(c) * kChunk + k;
      v[k] = (__expf(v[k] - lse) - (j == target ? 1.0f : 0.0f)) * s;
    }
    store8(row + c * kChunk, v);
  }
}

}  // namespace

void crossEntropyRows(void* logits, const int64_t* targets, int64_t ignoreIndex, const float* scale, float* lossSum, int64_t rows,
                      int64_t vocab, bool writeGrad, DType dtype, cudaStream_t stream) {
  if (rows == 0) return;
  if (dtype == DType::BFloat16)
    crossEntropyRowsKernel<<<rows, kThreads, 0, stream>>>(static_cast<__nv_bfloat16*>(logits), targets, ignoreIndex, scale, lossSum,
                                                          int(vocab), writeGrad);
  else
    crossEntropyRowsKernel<<<rows, kThreads, 0, stream>>>(static_cast<float*>(logits), targets, ignoreIndex, scale, lossSum, int(vocab),
                                                          writeGrad);
}

}  // namespace maskmix::kernels
