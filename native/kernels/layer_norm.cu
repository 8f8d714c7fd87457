// LayerNorm for the masked mixer's fused sublayers, one warp per row with 8-element 16-byte chunks in registers
// (d ≤ 1024, d % 8 == 0). The forward reads the float32 residual stream once and writes the normalised row
// directly in the compute dtype (no separate cast pass). The backward takes the gradient of that output in its
// own dtype, adds the residual branch's gradient in the same pass (x + f(LN(x)) has d/dx = upstream + LN's), and
// accumulates γ/β gradients per lane, then per block in shared memory, writing one partial row per block (the
// caller sums the partials): global atomics from every warp onto the same d addresses serialised badly.
// Both optionally take a deferred residual add, as rms_norm.cu does: the forward normalises x + delta and writes that
// sum; the backward also writes its gradient in the delta's dtype (the sublayer that made delta needs it there).
#include "kernels/kernels.h"
#include "kernels/vector_access.cuh"

namespace maskmix::kernels {

namespace {

constexpr int kMaxChunks = 4;

template <typename Out, typename Delta>
__global__ void layerNormForwardKernel(const float* x, const Delta* delta, float* sumOut, const float* w, const float* b, Out* y, float* mean,
                                       float* rstd, int64_t rows, int d, float eps) {
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
        loadResidual8(x, delta, sumOut, row * d + chunk * kChunk, v[c]);
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

template <typename G, typename Copy>
__global__ void layerNormBackwardKernel(const G* gy, const float* x, const float* mean, const float* rstd, const float* w,
                                        const float* residualGrad, float* gx, Copy* gxCopy, float* partialW, float* partialB, int64_t rows,
                                        int d) {
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
        if (gxCopy != nullptr) store8(gxCopy + row * d + chunk * kChunk, out);
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

template <typename Out, typename Delta>
void launchLayerNormForward(const float* x, const void* delta, float* sum, const float* w, const float* b, void* y, float* mean, float* rstd,
                            int64_t rows, int64_t d, float eps, cudaStream_t stream) {
  const int threads = 256;
  layerNormForwardKernel<<<warpBlocks(rows, threads), threads, 0, stream>>>(x, static_cast<const Delta*>(delta), sum, w, b,
                                                                            static_cast<Out*>(y), mean, rstd, rows, int(d), eps);
}

void layerNormForward(const float* x, const void* delta, DType deltaDtype, float* sum, const float* w, const float* b, void* y, float* mean,
                      float* rstd, int64_t rows, int64_t d, float eps, DType outDtype, cudaStream_t stream) {
  const bool bf16Delta = delta != nullptr && deltaDtype == DType::BFloat16;
  if (outDtype == DType::BFloat16) {
    if (bf16Delta) return launchLayerNormForward<__nv_bfloat16, __nv_bfloat16>(x, delta, sum, w, b, y, mean, rstd, rows, d, eps, stream);
    return launchLayerNormForward<__nv_bfloat16, float>(x, delta, sum, w, b, y, mean, rstd, rows, d, eps, stream);
  }
  if (bf16Delta) return launchLayerNormForward<float, __nv_bfloat16>(x, delta, sum, w, b, y, mean, rstd, rows, d, eps, stream);
  launchLayerNormForward<float, float>(x, delta, sum, w, b, y, mean, rstd, rows, d, eps, stream);
}

int layerNormBackwardBlocks(int64_t rows) { return warpBlocks(rows, kBackwardThreads, kBackwardBlockCap); }

template <typename G, typename Copy>
void launchLayerNormBackward(const void* gradY, const float* x, const float* mean, const float* rstd, const float* w, const float* residualGrad,
                             float* gx, void* gxCopy, float* partialW, float* partialB, int64_t rows, int64_t d, cudaStream_t stream) {
  layerNormBackwardKernel<<<layerNormBackwardBlocks(rows), kBackwardThreads, 2 * d * sizeof(float), stream>>>(
      static_cast<const G*>(gradY), x, mean, rstd, w, residualGrad, gx, static_cast<Copy*>(gxCopy), partialW, partialB, rows, int(d));
}

void layerNormBackward(const void* gradY, DType gradDtype, const float* x, const float* mean, const float* rstd, const float* w,
                       const float* residualGrad, float* gx, void* gxCopy, DType copyDtype, float* partialW, float* partialB, int64_t rows,
                       int64_t d, cudaStream_t stream) {
  const bool bf16Copy = gxCopy != nullptr && copyDtype == DType::BFloat16;
  if (gradDtype == DType::BFloat16) {
    if (bf16Copy)
      return launchLayerNormBackward<__nv_bfloat16, __nv_bfloat16>(gradY, x, mean, rstd, w, residualGrad, gx, gxCopy, partialW, partialB, rows,
                                                                   d, stream);
    return launchLayerNormBackward<__nv_bfloat16, float>(gradY, x, mean, rstd, w, residualGrad, gx, gxCopy, partialW, partialB, rows, d, stream);
  }
  if (bf16Copy)
    return launchLayerNormBackward<float, __nv_bfloat16>(gradY, x, mean, rstd, w, residualGrad, gx, gxCopy, partialW, partialB, rows, d, stream);
  launchLayerNormBackward<float, float>(gradY, x, mean, rstd, w, residualGrad, gx, gxCopy, partialW, partialB, rows, d, stream);
}

}  // namespace maskmix::kernels
