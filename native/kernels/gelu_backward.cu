// The feed-forward sublayer's backward around its GELU, in one pass over [rows, cols] (the 4d-wide hidden layer,
// the largest activations of a mixer block): from the saved pre-activation p and the gradient dA of GELU's output
// it writes GELU(p) (needed again for W2's gradient: recomputed, not saved), the gradient p' = GELU'(p)·dA, and
// per-block column sums of p' (b1's gradient, summed over blocks by the caller). Unfused that was three passes
// over the hidden layer (gelu, gelu_backward, a column sum) plus the sum's own read. Exact (erf) GELU, as nn.GELU.
#include "kernels/kernels.h"
#include "kernels/vector_access.cuh"

namespace maskmix::kernels {

namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void geluBackwardKernel(const T* pre, const T* gradAct, T* act, T* gradPre, float* partialBias, int64_t rows, int64_t cols,
                                   int64_t rowsPerBlock) {
  // Each thread owns 8 adjacent columns and walks this block's rows: its column sums stay in registers.
  const ColumnTile tile = columnTile(rows, rowsPerBlock);
  const int64_t col = tile.col;
  if (col >= cols) return;
  float sums[kChunk] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t row = tile.first; row < tile.last; ++row) {
    float p[kChunk], g[kChunk], a[kChunk], gp[kChunk];
    load8(pre + row * cols + col, p);
    load8(gradAct + row * cols + col, g);
#pragma unroll
    for (int k = 0; k < kChunk; ++k) {
      const float cdf = 0.5f * (1.0f + erff(p[k] * 0.70710678118654752f));
      const float pdf = 0.39894228040143268f * __expf(-0.5f * p[k] * p[k]);
      a[k] = p[k] * cdf;
      gp[k] = g[k] * (cdf + p[k] * pdf);
      sums[k] += gp[k];
    }
    store8(act + row * cols + col, a);
    store8(gradPre + row * cols + col, gp);
  }
  float* out = partialBias + int64_t(blockIdx.y) * cols + col;
#pragma unroll
  for (int k = 0; k < kChunk; ++k) out[k] = sums[k];
}

}  // namespace

int geluBackwardRowBlocks(int64_t rows) {
  // Enough row blocks to fill the GPU (with cols/2048 column blocks), at least 32 rows each.
  int64_t blocks = rows / 32;
  return static_cast<int>(blocks < 256 ? (blocks < 1 ? 1 : blocks) : 256);
}

void geluBackward(const void* pre, const void* gradAct, void* act, void* gradPre, float* partialBias, int64_t rows, int64_t cols, DType dtype,
                  cudaStream_t stream) {
  const int rowBlocks = geluBackwardRowBlocks(rows);
  const int64_t rowsPerBlock = (rows + rowBlocks - 1) / rowBlocks;
  const int64_t threadsNeeded = cols / kChunk;
  dim3 grid(static_cast<unsigned>((threadsNeeded + kThreads - 1) / kThreads), static_cast<unsigned>(rowBlocks));
  if (dtype == DType::BFloat16) {
    geluBackwardKernel<<<grid, kThreads, 0, stream>>>(static_cast<const __nv_bfloat16*>(pre), static_cast<const __nv_bfloat16*>(gradAct),
                                                      static_cast<__nv_bfloat16*>(act), static_cast<__nv_bfloat16*>(gradPre), partialBias, rows,
                                                      cols, rowsPerBlock);
  } else {
    geluBackwardKernel<<<grid, kThreads, 0, stream>>>(static_cast<const float*>(pre), static_cast<const float*>(gradAct), static_cast<float*>(act),
                                                      static_cast<float*>(gradPre), partialBias, rows, cols, rowsPerBlock);
  }
}

}  // namespace maskmix::kernels
