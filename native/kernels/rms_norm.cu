// RMSNorm forward and backward (d ≤ 1024, d % 8 == 0). The forward, one warp per row with 8-element 16-byte chunks
// per lane in registers, writes the normalised row straight in the compute dtype (bf16 under autocast) and keeps
// rstd; the backward (norm_backward_rows.cuh, shared with LayerNorm) recovers x̂ from that output (or reads the
// input) and writes one partial row of the weight gradient per block for the caller to sum (no global atomics).
// Both optionally take the residual add that precedes a Llama norm: the forward adds a sublayer's output to the
// residual stream and writes the sum beside the normalised row; the backward adds the residual stream's gradient
// and also writes the sum in the sublayer output's dtype. That saves the add, the gradient accumulation and the
// gradient cast that libtorch would run as three more passes over the rows.
#include "kernels/kernels.h"
#include "kernels/norm_backward_rows.cuh"
#include "kernels/vector_access.cuh"

namespace maskmix::kernels {

namespace {

constexpr int kMaxChunks = 4;  // per lane: 4 · 8 · 32 lanes = 1024 = largest d

// With delta: the normalised row is of x + delta, and that sum is written to sum.
template <typename Out, typename Delta>
__global__ void rmsNormForwardKernel(const float* x, const Delta* delta, float* sum, const float* w, Out* y, float* rstd, int64_t rows,
                                     int d, float eps) {
  int lane = threadIdx.x % 32;
  int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
  int64_t warps = int64_t(gridDim.x) * blockDim.x / 32;
  int chunks = d / kChunk;
  for (int64_t row = warp; row < rows; row += warps) {
    float v[kMaxChunks][kChunk];
    float squares = 0;
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
      int chunk = lane + 32 * c;
      if (chunk < chunks) {
        loadResidual8(x, delta, sum, row * d + chunk * kChunk, v[c]);
#pragma unroll
        for (int k = 0; k < kChunk; ++k) squares += v[c][k] * v[c][k];
      }
    }
    float r = rsqrtf(warpSum(squares) / float(d) + eps);
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

}  // namespace

bool rowKernelsTake(int64_t d) { return d % kChunk == 0 && d <= kMaxChunks * kChunk * 32; }

template <typename Out, typename Delta>
void launchRmsNormForward(const float* x, const void* delta, float* sum, const float* w, void* y, float* rstd, int64_t rows, int64_t d,
                          float eps, cudaStream_t stream) {
  const int threads = 256;
  rmsNormForwardKernel<<<warpBlocks(rows, threads), threads, 0, stream>>>(x, static_cast<const Delta*>(delta), sum, w, static_cast<Out*>(y),
                                                                          rstd, rows, int(d), eps);
}

void rmsNormForward(const float* x, const void* delta, DType deltaDtype, float* sum, const float* w, void* y, float* rstd, int64_t rows,
                    int64_t d, float eps, DType outDtype, cudaStream_t stream) {
  const bool bf16Delta = delta != nullptr && deltaDtype == DType::BFloat16;
  if (outDtype == DType::BFloat16) {
    if (bf16Delta) return launchRmsNormForward<__nv_bfloat16, __nv_bfloat16>(x, delta, sum, w, y, rstd, rows, d, eps, stream);
    return launchRmsNormForward<__nv_bfloat16, float>(x, delta, sum, w, y, rstd, rows, d, eps, stream);
  }
  if (bf16Delta) return launchRmsNormForward<float, __nv_bfloat16>(x, delta, sum, w, y, rstd, rows, d, eps, stream);
  launchRmsNormForward<float, float>(x, delta, sum, w, y, rstd, rows, d, eps, stream);
}

template <typename G, typename Copy, bool kFromOutput>
void launchRmsNormBackward(const void* gradY, const void* saved, const float* w, const float* rstd, const float* residualGrad, float* gx,
                           void* gxCopy, float* partialW, int64_t rows, int64_t d, cudaStream_t stream) {
  auto kernel = normBackwardRowGroupsKernel</*kCentred=*/false, G, Copy, kFromOutput>;
  kernel<<<normRowGroupBlocks(rows), normRowGroupThreads(d), normRowGroupShared(false, d), stream>>>(
      static_cast<const G*>(gradY), saved, /*mean=*/nullptr, rstd, w, /*b=*/nullptr, residualGrad, gx, static_cast<Copy*>(gxCopy), partialW,
      /*partialB=*/nullptr, rows, int(d));
}

void rmsNormBackward(const void* gradY, DType gradDtype, const void* saved, bool fromOutput, const float* w, const float* rstd,
                     const float* residualGrad, float* gx, void* gxCopy, DType copyDtype, float* partialW, int64_t rows, int64_t d,
                     cudaStream_t stream) {
  const bool bf16Copy = gxCopy != nullptr && copyDtype == DType::BFloat16;
  auto launch = [&](auto gradTag, auto copyTag) {
    using G = decltype(gradTag);
    using Copy = decltype(copyTag);
    auto run = fromOutput ? launchRmsNormBackward<G, Copy, true> : launchRmsNormBackward<G, Copy, false>;
    run(gradY, saved, w, rstd, residualGrad, gx, gxCopy, partialW, rows, d, stream);
  };
  if (gradDtype == DType::BFloat16) {
    if (bf16Copy) return launch(__nv_bfloat16{}, __nv_bfloat16{});
    return launch(__nv_bfloat16{}, float{});
  }
  if (bf16Copy) return launch(float{}, __nv_bfloat16{});
  launch(float{}, float{});
}

}  // namespace maskmix::kernels
