// LayerNorm for the masked mixer's fused sublayers, one warp per row with 8-element 16-byte chunks in registers
// (d ≤ 1024, d % 8 == 0). The forward reads the float32 residual stream once and writes the normalised row
// directly in the compute dtype (no separate cast pass). The backward takes the gradient of that output in its
// own dtype, reads x̂ from the forward's input or from its output (normalisedChunk), adds the residual branch's
// gradient in the same pass (x + f(LN(x)) has d/dx = upstream + LN's), and accumulates γ/β gradients per lane, then
// per block in shared memory, writing one partial row per block (the caller sums the partials): global atomics from
// every warp onto the same d addresses serialised badly.
// Both optionally take a deferred residual add, as rms_norm.cu does: the forward normalises x + delta and writes that
// sum; the backward also writes its gradient in the delta's dtype (the sublayer that made delta needs it there).
#include <type_traits>

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

// x̂ = (x − mean)·rstd of one 8-value chunk, and γ's chunk: from the float32 input x and the row's mean, or
// (kFromOutput) from the saved output y = x̂·γ + β as (y − β)/γ, which needs neither x nor the mean. |γ| is floored
// at kMinGammaMagnitude (sign kept) so a γ at zero cannot divide by zero; there x̂ is not recoverable from y, the one
// case where saving the output loses information (γ = 0 exactly is not reached by training from γ = 1 in practice).
constexpr float kMinGammaMagnitude = 1e-6f;
template <bool kFromOutput, typename In>
__device__ __forceinline__ void normalisedChunk(const In* saved, const float* w, const float* b, int64_t offset, int column, float mu,
                                                float r, float (&wv)[kChunk], float (&xhat)[kChunk]) {
  float sv[kChunk];
  load8(saved + offset, sv);
  load8(w + column, wv);
  if constexpr (kFromOutput) {
    float bv[kChunk];
    load8(b + column, bv);
#pragma unroll
    for (int k = 0; k < kChunk; ++k)
      xhat[k] = __fdividef(sv[k] - bv[k], copysignf(fmaxf(fabsf(wv[k]), kMinGammaMagnitude), wv[k]));
  } else {
#pragma unroll
    for (int k = 0; k < kChunk; ++k) xhat[k] = (sv[k] - mu) * r;
  }
}

// `saved`: the float32 input x (with mean), or with kFromOutput the forward's output y in G's dtype (mean unused).
// γ's and β's gradients accumulate per lane in registers, then per block (partialW/B [gridDim.x, d]). Those 64
// accumulators hold the kernel at 125-140 registers, 4 blocks of 128 threads a multiprocessor (Nsight Compute on an
// H100: 25 % occupancy, 1.8 TB/s, ~122 µs for the L8 mixer's rows). Without them the row pass reached 82 % of DRAM
// bandwidth (90 µs), but the column-sum pass that then made γ/β's gradients (30 µs) ate the gain: whole steps
// 19.59 against 19.56 ms (docs/benchmarks/h100-2026-12-07g), so that variant was not kept.
template <typename G, typename Copy, bool kFromOutput>
__global__ void layerNormBackwardKernel(const G* gy, const void* savedIn, const float* mean, const float* rstd, const float* w,
                                        const float* b, const float* residualGrad, float* gx, Copy* gxCopy, float* partialW,
                                        float* partialB, int64_t rows, int d) {
  using In = std::conditional_t<kFromOutput, G, float>;
  const In* saved = static_cast<const In*>(savedIn);
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
    const float mu = kFromOutput ? 0.0f : mean[row], r = rstd[row];
    float sumG = 0, sumGX = 0;  // Σ w·gy and Σ w·gy·x̂ over the row
    // Two passes over the row, the second re-reading the saved tensor and gy (from L1: the warp just read them)
    // rather than keeping x̂ and w·gy in registers: 180 registers a thread had allowed two blocks per
    // multiprocessor, and the kernel, which only streams memory, ran at ~40 % of bandwidth.
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
      int chunk = lane + 32 * c;
      if (chunk < chunks) {
        float xhat[kChunk], gv[kChunk], wv[kChunk];
        normalisedChunk<kFromOutput>(saved, w, b, row * d + chunk * kChunk, chunk * kChunk, mu, r, wv, xhat);
        load8(gy + row * d + chunk * kChunk, gv);
#pragma unroll
        for (int k = 0; k < kChunk; ++k) {
          const float g = gv[k] * wv[k];
          gwLocal[c][k] += gv[k] * xhat[k];
          gbLocal[c][k] += gv[k];
          sumG += g;
          sumGX += g * xhat[k];
        }
      }
    }
    const float meanG = warpSum(sumG) / float(d), meanGX = warpSum(sumGX) / float(d);
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
      int chunk = lane + 32 * c;
      if (chunk < chunks) {
        float xhat[kChunk], gv[kChunk], wv[kChunk], out[kChunk], res[kChunk];
        normalisedChunk<kFromOutput>(saved, w, b, row * d + chunk * kChunk, chunk * kChunk, mu, r, wv, xhat);
        load8(gy + row * d + chunk * kChunk, gv);
        if (residualGrad) load8(residualGrad + row * d + chunk * kChunk, res);
#pragma unroll
        for (int k = 0; k < kChunk; ++k) out[k] = r * (gv[k] * wv[k] - meanG - xhat[k] * meanGX) + (residualGrad ? res[k] : 0.0f);
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

template <typename G, typename Copy, bool kFromOutput>
void launchLayerNormBackward(const void* gradY, const void* saved, const float* mean, const float* rstd, const float* w, const float* b,
                             const float* residualGrad, float* gx, void* gxCopy, float* partialW, float* partialB, int64_t rows, int64_t d,
                             cudaStream_t stream) {
  layerNormBackwardKernel<G, Copy, kFromOutput><<<layerNormBackwardBlocks(rows), kBackwardThreads, 2 * d * sizeof(float), stream>>>(
      static_cast<const G*>(gradY), saved, mean, rstd, w, b, residualGrad, gx, static_cast<Copy*>(gxCopy), partialW, partialB, rows, int(d));
}

void layerNormBackward(const void* gradY, DType gradDtype, const void* saved, bool fromOutput, const float* mean, const float* rstd,
                       const float* w, const float* b, const float* residualGrad, float* gx, void* gxCopy, DType copyDtype,
                       float* partialW, float* partialB, int64_t rows, int64_t d, cudaStream_t stream) {
  const bool bf16Copy = gxCopy != nullptr && copyDtype == DType::BFloat16;
  auto launch = [&](auto gradTag, auto copyTag) {
    using G = decltype(gradTag);
    using Copy = decltype(copyTag);
    auto run = fromOutput ? launchLayerNormBackward<G, Copy, true> : launchLayerNormBackward<G, Copy, false>;
    run(gradY, saved, mean, rstd, w, b, residualGrad, gx, gxCopy, partialW, partialB, rows, d, stream);
  };
  if (gradDtype == DType::BFloat16) {
    if (bf16Copy) return launch(__nv_bfloat16{}, __nv_bfloat16{});
    return launch(__nv_bfloat16{}, float{});
  }
  if (bf16Copy) return launch(float{}, __nv_bfloat16{});
  launch(float{}, float{});
}

}  // namespace maskmix::kernels
