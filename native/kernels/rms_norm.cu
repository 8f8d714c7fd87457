// RMSNorm forward and backward, one warp per row, 8-element 16-byte chunks per lane held in registers (d ≤ 1024,
// d % 8 == 0): the forward writes the normalised row straight in the compute dtype (bf16 under autocast) and keeps
// rstd; the backward accumulates the weight gradient per lane, then per block in shared memory, and writes one
// partial row per block for the caller to sum (no global atomics).
#include "kernels/kernels.h"
#include "kernels/vector_access.cuh"

namespace maskmix::kernels {

namespace {

constexpr int kMaxChunks = 4;  // per lane: 4 · 8 · 32 lanes = 1024 = largest d

template <typename Out>
__global__ void rmsNormForwardKernel(const float* x, const float* w, Out* y, float* rstd, int64_t rows, int d, float eps) {
  int lane = threadIdx.x % 32;
  int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
  int64_t warps = int64_t(gridDim.x) * blockDim.x / 32;
  int chunks = d / kChunk;
  for (int64_t row = warp; row < rows; row += warps) {
    float v[kMaxChunks][kChunk];
    float sum = 0;
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
      int chunk = lane + 32 * c;
      if (chunk < chunks) {
        load8(x + row * d + chunk * kChunk, v[c]);
#pragma unroll
        for (int k = 0; k < kChunk; ++k) sum += v[c][k] * v[c][k];
      }
    }
    float r = rsqrtf(warpSum(sum) / float(d) + eps);
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
      int chunk = lane + 32 * c;
      if (chunk < chunks) {
        float wv[kChunk], out[kChunk];
        load8(w + chunk * kChunk, wv);
#pragma unroll
        for (int k = 0; k < kChunk; ++k) out[k] = v[c][k] * r * wv[k];
        store8(y + row * d + chunk * kChunk, out);
      }
    }
    if (lane == 0) rstd[row] = r;
  }
}

template <typename G>
__global__ void rmsNormBackwardKernel(const G* gy, const float* x, const float* w, const float* rstd, float* gx, float* partialW,
                                      int64_t rows, int d) {
  extern __shared__ float blockSums[];  // [d]
  for (int i = threadIdx.x; i < d; i += blockDim.x) blockSums[i] = 0;
  __syncthreads();
  int lane = threadIdx.x % 32;
  int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
  int64_t warps = int64_t(gridDim.x) * blockDim.x / 32;
  int chunks = d / kChunk;
  float wv[kMaxChunks][kChunk], gwLocal[kMaxChunks][kChunk];
#pragma unroll
  for (int c = 0; c < kMaxChunks; ++c) {
    int chunk = lane + 32 * c;
#pragma unroll
    for (int k = 0; k < kChunk; ++k) gwLocal[c][k] = 0;
    if (chunk < chunks) load8(w + chunk * kChunk, wv[c]);
  }
  for (int64_t row = warp; row < rows; row += warps) {
    const float r = rstd[row];
    float dot = 0;  // Σ_k w_k·gy_k·x_k
    // Two passes, the second re-reading x and gy from L1 instead of holding the row in registers (as in
    // layer_norm.cu: ~160 registers a thread had halved the blocks a multiprocessor could run).
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
      int chunk = lane + 32 * c;
      if (chunk < chunks) {
        float xv[kChunk], g[kChunk];
        load8(x + row * d + chunk * kChunk, xv);
        load8(gy + row * d + chunk * kChunk, g);
#pragma unroll
        for (int k = 0; k < kChunk; ++k) dot += wv[c][k] * g[k] * xv[k];
      }
    }
    const float scale = warpSum(dot) * r * r * r / float(d);
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
      int chunk = lane + 32 * c;
      if (chunk < chunks) {
        float xv[kChunk], g[kChunk], out[kChunk];
        load8(x + row * d + chunk * kChunk, xv);
        load8(gy + row * d + chunk * kChunk, g);
#pragma unroll
        for (int k = 0; k < kChunk; ++k) {
          out[k] = r * wv[c][k] * g[k] - xv[k] * scale;
          gwLocal[c][k] += g[k] * xv[k] * r;
        }
        store8(gx + row * d + chunk * kChunk, out);
      }
    }
  }
#pragma unroll
  for (int c = 0; c < kMaxChunks; ++c) {
    int chunk = lane + 32 * c;
    if (chunk < chunks)
#pragma unroll
      for (int k = 0; k < kChunk; ++k) atomicAdd(&blockSums[chunk * kChunk + k], gwLocal[c][k]);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < d; i += blockDim.x) partialW[blockIdx.x * int64_t(d) + i] = blockSums[i];
}

}  // namespace

bool rowKernelsTake(int64_t d) { return d % kChunk == 0 && d <= kMaxChunks * kChunk * 32; }

void rmsNormForward(const float* x, const float* w, void* y, float* rstd, int64_t rows, int64_t d, float eps, DType outDtype,
                    cudaStream_t stream) {
  const int threads = 256;
  if (outDtype == DType::BFloat16)
    rmsNormForwardKernel<<<warpBlocks(rows, threads), threads, 0, stream>>>(x, w, static_cast<__nv_bfloat16*>(y), rstd, rows, int(d), eps);
  else
    rmsNormForwardKernel<<<warpBlocks(rows, threads), threads, 0, stream>>>(x, w, static_cast<float*>(y), rstd, rows, int(d), eps);
}

int rmsNormBackwardBlocks(int64_t rows) { return warpBlocks(rows, kBackwardThreads, kBackwardBlockCap); }

void rmsNormBackward(const void* gradY, DType gradDtype, const float* x, const float* w, const float* rstd, float* gx, float* partialW,
                     int64_t rows, int64_t d, cudaStream_t stream) {
  int blocks = rmsNormBackwardBlocks(rows);
  size_t shared = d * sizeof(float);
  if (gradDtype == DType::BFloat16)
    rmsNormBackwardKernel<<<blocks, kBackwardThreads, shared, stream>>>(static_cast<const __nv_bfloat16*>(gradY), x, w, rstd, gx, partialW,
                                                                        rows, int(d));
  else
    rmsNormBackwardKernel<<<blocks, kBackwardThreads, shared, stream>>>(static_cast<const float*>(gradY), x, w, rstd, gx, partialW, rows,
                                                                        int(d));
}

}  // namespace maskmix::kernels
