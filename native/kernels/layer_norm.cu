// LayerNorm for the masked mixer's fused sublayers, one warp per row with 8-element 16-byte chunks in registers
// (d ≤ 1024, d % 8 == 0). The forward reads the float32 residual stream once and writes the normalised row
// directly in the compute dtype (no separate cast pass). The backward takes the gradient of that output in its
// own dtype, adds the residual branch's gradient in the same pass (x + f(LN(x)) has d/dx = upstream + LN's), and
// accumulates γ/β gradients per lane, then per block in shared memory, writing one partial row per block (the
// caller sums the partials): global atomics from every warp onto the same d addresses serialised badly.
#include "kernels/kernels.h"
#include "kernels/vector_access.cuh"

namespace maskmix::kernels {

namespace {

constexpr int kMaxChunks = 4;

template <typename Out>
__global__ void layerNormForwardKernel(const float* x, const float* w, const float* b, Out* y, float* mean, float* rstd, int64_t rows,
                                       int d, float eps) {
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
        for (int k = 0; k < kChunk; ++k) sum += v[c][k];
      }
    }
    float mu = warpSum(sum) / float(d);
    float sq = 0;  // two passes over registers: the variance without cancellation
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c)
      if (lane + 32 * c < chunks)
#pragma unroll
        for (int k = 0; k < kChunk; ++k) sq += (v[c][k] - mu) * (v[c][k] - mu);
    float r = rsqrtf(warpSum(sq) / float(d) + eps);
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
      int chunk = lane + 32 * c;
      if (chunk < chunks) {
        float wv[kChunk], bv[kChunk], out[kChunk];
        load8(w + chunk * kChunk, wv);
        load8(b + chunk * kChunk, bv);
#pragma unroll
        for (int k = 0; k < kChunk; ++k) out[k] = (v[c][k] - mu) * r * wv[k] + bv[k];
        store8(y + row * d + chunk * kChunk, out);
      }
    }
    if (lane == 0) {
      if (mean) mean[row] = mu;
      if (rstd) rstd[row] = r;
    }
  }
}

template <typename G>
__global__ void layerNormBackwardKernel(const G* gy, const float* x, const float* mean, const float* rstd, const float* w,
                                        const float* residualGrad, float* gx, float* partialW, float* partialB, int64_t rows, int d) {
  extern __shared__ float blockSums[];  // [2·d]: γ then β gradient of this block
  for (int i = threadIdx.x; i < 2 * d; i += blockDim.x) blockSums[i] = 0;
  __syncthreads();
  int lane = threadIdx.x % 32;
  int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
  int64_t warps = int64_t(gridDim.x) * blockDim.x / 32;
  int chunks = d / kChunk;
  float gwLocal[kMaxChunks][kChunk], gbLocal[kMaxChunks][kChunk];
#pragma unroll
  for (int c = 0; c < kMaxChunks; ++c)
#pragma unroll
    for (int k = 0; k < kChunk; ++k) gwLocal[c][k] = gbLocal[c][k] = 0;
  for (int64_t row = warp; row < rows; row += warps) {
    const float mu = mean[row], r = rstd[row];
    float sumG = 0, sumGX = 0;  // Σ w·gy and Σ w·gy·x̂ over the row
    // Two passes over the row, the second re-reading x and gy (from L1: the warp just read them) rather than
    // keeping x̂ and w·gy in registers: 180 registers a thread had allowed two blocks per multiprocessor, and
    // the kernel, which only streams memory, ran at ~40 % of bandwidth.
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
      int chunk = lane + 32 * c;
      if (chunk < chunks) {
        float xv[kChunk], gv[kChunk], wv[kChunk];
        load8(x + row * d + chunk * kChunk, xv);
        load8(gy + row * d + chunk * kChunk, gv);
        load8(w + chunk * kChunk, wv);
#pragma unroll
        for (int k = 0; k < kChunk; ++k) {
          const float xhat = (xv[k] - mu) * r;
          const float g = gv[k] * wv[k];
          gwLocal[c][k] += gv[k] * xhat;
          gbLocal[c][k] += gv[k];
          sumG += g;
          sumGX += g * xhat;
        }
      }
    }
    const float meanG = warpSum(sumG) / float(d), meanGX = warpSum(sumGX) / float(d);
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
      int chunk = lane + 32 * c;
      if (chunk < chunks) {
        float xv[kChunk], gv[kChunk], wv[kChunk], out[kChunk], res[kChunk];
        load8(x + row * d + chunk * kChunk, xv);
        load8(gy + row * d + chunk * kChunk, gv);
        load8(w + chunk * kChunk, wv);
        if (residualGrad) load8(residualGrad + row * d + chunk * kChunk, res);
#pragma unroll
        for (int k = 0; k < kChunk; ++k) {
          const float xhat = (xv[k] - mu) * r;
          out[k] = r * (gv[k] * wv[k] - meanG - xhat * meanGX) + (residualGrad ? res[k] : 0.0f);
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
      for (int k = 0; k < kChunk; ++k) {
        atomicAdd(&blockSums[chunk * kChunk + k], gwLocal[c][k]);
        atomicAdd(&blockSums[d + chunk * kChunk + k], gbLocal[c][k]);
      }
  }
  __syncthreads();
  for (int i = threadIdx.x; i < d; i += blockDim.x) {
    partialW[blockIdx.x * int64_t(d) + i] = blockSums[i];
    partialB[blockIdx.x * int64_t(d) + i] = blockSums[d + i];
  }
}

}  // namespace

void layerNormForward(const float* x, const float* w, const float* b, void* y, float* mean, float* rstd, int64_t rows, int64_t d, float eps,
                      DType outDtype, cudaStream_t stream) {
  const int threads = 256;
  if (outDtype == DType::BFloat16)
    layerNormForwardKernel<<<warpBlocks(rows, threads), threads, 0, stream>>>(x, w, b, static_cast<__nv_bfloat16*>(y), mean, rstd, rows,
                                                                              int(d), eps);
  else
    layerNormForwardKernel<<<warpBlocks(rows, threads), threads, 0, stream>>>(x, w, b, static_cast<float*>(y), mean, rstd, rows, int(d), eps);
}

int layerNormBackwardBlocks(int64_t rows) { return warpBlocks(rows, kBackwardThreads, kBackwardBlockCap); }

void layerNormBackward(const void* gradY, DType gradDtype, const float* x, const float* mean, const float* rstd, const float* w,
                       const float* residualGrad, float* gx, float* partialW, float* partialB, int64_t rows, int64_t d, cudaStream_t stream) {
  int blocks = layerNormBackwardBlocks(rows);
  size_t shared = 2 * d * sizeof(float);
  if (gradDtype == DType::BFloat16)
    layerNormBackwardKernel<<<blocks, kBackwardThreads, shared, stream>>>(static_cast<const __nv_bfloat16*>(gradY), x, mean, rstd, w,
                                                                          residualGrad, gx, partialW, partialB, rows, int(d));
  else
    layerNormBackwardKernel<<<blocks, kBackwardThreads, shared, stream>>>(static_cast<const float*>(gradY), x, mean, rstd, w, residualGrad,
                                                                          gx, partialW, partialB, rows, int(d));
}

}  // namespace maskmix::kernels
