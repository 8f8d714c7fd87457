// RMSNorm forward and backward, one warp per row, 8-element 16-byte chunks per lane held in registers (d ≤ 1024,
// d % 8 == 0): the forward writes the normalised row straight in the compute dtype (bf16 under autocast) and keeps
// rstd; the backward accumulates the weight gradient per lane, then per block in shared memory, and writes one
// partial row per block for the caller to sum (no global atomics).
// Both optionally take the residual add that precedes a Llama norm: the forward adds a sublayer's output to the
// residual stream and writes the sum beside the normalised row; the backward adds the residual stream's gradient
// and also writes the sum in the sublayer output's dtype. That saves the add, the gradient accumulation and the
// gradient cast that libtorch would run as three more passes over the rows.
#include "kernels/kernels.h"
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

// With residualGrad: gx = d/dx + residualGrad; with gxCopy, gx is also written there (in the sublayer's dtype).
template <typename G, typename Copy>
__global__ void rmsNormBackwardKernel(const G* gy, const float* x, const float* w, const float* rstd, const float* residualGrad, float* gx,
                                      Copy* gxCopy, float* partialW, int64_t rows, int d) {
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
        if (residualGrad != nullptr) {
          float gr[kChunk];
          load8(residualGrad + row * d + chunk * kChunk, gr);
#pragma unroll
          for (int k = 0; k < kChunk; ++k) out[k] += gr[k];
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
      for (int k = 0; k < kChunk; ++k) atomicAdd(&blockSums[chunk * kChunk + k], gwLocal[c][k]);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < d; i += blockDim.x) partialW[blockIdx.x * int64_t(d) + i] = blockSums[i];
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

int rmsNormBackwardBlocks(int64_t rows) { return warpBlocks(rows, kBackwardThreads, kBackwardBlockCap); }

template <typename G, typename Copy>
void launchRmsNormBackward(const void* gradY, const float* x, const float* w, const float* rstd, const float* residualGrad, float* gx,
                           void* gxCopy, float* partialW, int64_t rows, int64_t d, cudaStream_t stream) {
  rmsNormBackwardKernel<<<rmsNormBackwardBlocks(rows), kBackwardThreads, d * sizeof(float), stream>>>(
      static_cast<const G*>(gradY), x, w, rstd, residualGrad, gx, static_cast<Copy*>(gxCopy), partialW, rows, int(d));
}

void rmsNormBackward(const void* gradY, DType gradDtype, const float* x, const float* w, const float* rstd, const float* residualGrad,
                     float* gx, void* gxCopy, DType copyDtype, float* partialW, int64_t rows, int64_t d, cudaStream_t stream) {
  const bool bf16Copy = gxCopy != nullptr && copyDtype == DType::BFloat16;
  if (gradDtype == DType::BFloat16) {
    if (bf16Copy) return launchRmsNormBackward<__nv_bfloat16, __nv_bfloat16>(gradY, x, w, rstd, residualGrad, gx, gxCopy, partialW, rows, d, stream);
    return launchRmsNormBackward<__nv_bfloat16, float>(gradY, x, w, rstd, residualGrad, gx, gxCopy, partialW, rows, d, stream);
  }
  if (bf16Copy) return launchRmsNormBackward<float, __nv_bfloat16>(gradY, x, w, rstd, residualGrad, gx, gxCopy, partialW, rows, d, stream);
  launchRmsNormBackward<float, float>(gradY, x, w, rstd, residualGrad, gx, gxCopy, partialW, rows, d, stream);
}

}  // namespace maskmix::kernels
