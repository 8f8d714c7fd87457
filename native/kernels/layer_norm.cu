// LayerNorm for the masked mixer's fused sublayers (d ≤ 1024, d % 8 == 0). The forward, one warp per row with
// 8-element 16-byte chunks in registers, reads the float32 residual stream once and writes the normalised row
// directly in the compute dtype (no separate cast pass). The backward (norm_backward_rows.cuh, shared with RMSNorm)
// takes the gradient of that output in its own dtype, recovers x̂ from the forward's output (or reads its input),
// adds the residual branch's gradient in the same pass (x + f(LN(x)) has d/dx = upstream + LN's), and writes one
// partial row of γ/β gradients per block for the caller to sum.
// Both optionally take a deferred residual add, as rms_norm.cu does: the forward normalises x + delta and writes that
// sum; the backward also writes its gradient in the delta's dtype (the sublayer that made delta needs it there).
#include "kernels/kernels.h"
#include "kernels/norm_backward_rows.cuh"
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

// Shared with rms_norm.cu's backward, which launches the same kernel.
int normBackwardBlocks(int64_t rows) { return normRowGroupBlocks(rows); }

template <typename G, typename Copy, bool kFromOutput>
void launchLayerNormBackward(const void* gradY, const void* saved, const float* mean, const float* rstd, const float* w, const float* b,
                             const float* residualGrad, float* gx, void* gxCopy, float* partialW, float* partialB, int64_t rows, int64_t d,
                             cudaStream_t stream) {
  auto kernel = normBackwardRowGroupsKernel</*kCentred=*/true, G, Copy, kFromOutput>;
  kernel<<<normRowGroupBlocks(rows), normRowGroupThreads(d), normRowGroupShared(true, d), stream>>>(
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
