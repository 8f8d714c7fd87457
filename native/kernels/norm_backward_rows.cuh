// The backward of LayerNorm (kCentred) and RMSNorm over rows of width d ≤ 1024 (d % 8 == 0), in row groups: a group
// of 32·⌈d/256⌉ threads owns one row at a time, one 8-value chunk a thread. A thread so keeps only its own 8
// columns' weight (and bias) gradients, 16 accumulators, and holds x̂ and w·gy in registers between the row's two
// reductions instead of re-reading the row. The group's warps combine their row sums through shared memory behind a
// named barrier, double-buffered by row parity so that one barrier a row suffices. kNormRowGroups groups share a
// block, so one partial row of weight gradients per block covers that many rows at a time. A warp per row instead
// (every lane holding up to 4 chunks' accumulators) needed 120-140 registers a thread, which held occupancy at 25 %
// and the LayerNorm backward at ~55 % of an H100's DRAM bandwidth. On the L8 mixer's 16,384 rows of 1024 that kernel
// took 122 µs a call, this one 93 (docs/benchmarks/h100-2026-12-07h).
//   LayerNorm: x̂ = (x − mean)·rstd, gx = rstd·(w·gy − mean(w·gy) − x̂·mean(w·gy·x̂)), gw = Σ gy·x̂, gb = Σ gy.
//   RMSNorm:   x̂ = x·rstd,          gx = rstd·(w·gy − x̂·mean(w·gy·x̂)),              gw = Σ gy·x̂.
// x̂ comes from the float32 input x (kFromOutput false), or from the forward's saved output y = x̂·w (+ b) in G's
// dtype, which needs neither x nor the mean. residualGrad (may be null) is added to gx; gxCopy (may be null) gets gx
// again in its dtype. partialW (and partialB) [gridDim.x, d]: the caller sums them over blocks.
#pragma once

#include <algorithm>
#include <type_traits>

#include "kernels/saved_output.cuh"
#include "kernels/vector_access.cuh"

namespace maskmix::kernels {

constexpr int kNormRowGroups = 4;
constexpr int kNormGroupWarpsMax = 4;  // d ≤ 1024: at most 128 chunks, one a thread
constexpr int kNormRowGroupThreadsMax = kNormRowGroups * 32 * kNormGroupWarpsMax;
// Two blocks of up to 512 threads a multiprocessor (the launch bounds' 64 registers a thread): one wave on an H100.
constexpr int64_t kNormRowGroupBlockCap = 2 * 132;

inline int normRowGroupBlocks(int64_t rows) {
  return static_cast<int>(std::min<int64_t>((rows + kNormRowGroups - 1) / kNormRowGroups, kNormRowGroupBlockCap));
}
inline int normRowGroupThreads(int64_t d) { return kNormRowGroups * 32 * static_cast<int>((d / kChunk + 31) / 32); }
// Dynamic shared memory: the block's weight (and bias) gradient sums.
inline size_t normRowGroupShared(bool centred, int64_t d) { return (centred ? 2 : 1) * d * sizeof(float); }

template <bool kCentred, typename G, typename Copy, bool kFromOutput>
__global__ void __launch_bounds__(kNormRowGroupThreadsMax, 2)
    normBackwardRowGroupsKernel(const G* gy, const void* savedIn, const float* mean, const float* rstd, const float* w, const float* b,
                                const float* residualGrad, float* gx, Copy* gxCopy, float* partialW, float* partialB, int64_t rows, int d) {
  using In = std::conditional_t<kFromOutput, G, float>;
  const In* saved = static_cast<const In*>(savedIn);
  extern __shared__ float blockSums[];  // [d] weight, then (kCentred) [d] bias gradient of this block
  __shared__ float rowSums[2][kNormRowGroups][kNormGroupWarpsMax][2];  // [row parity][group][warp]: Σ w·gy, Σ w·gy·x̂
  for (int i = threadIdx.x; i < (kCentred ? 2 : 1) * d; i += blockDim.x) blockSums[i] = 0;
  __syncthreads();
  const int groupThreads = blockDim.x / kNormRowGroups, groupWarps = groupThreads / 32;
  const int group = threadIdx.x / groupThreads, chunk = threadIdx.x % groupThreads, warp = chunk / 32, lane = threadIdx.x % 32;
  const bool active = chunk < d / kChunk;
  const int column = chunk * kChunk;
  float gwLocal[kChunk] = {}, gbLocal[kChunk] = {};
  int parity = 0;
  for (int64_t row = int64_t(blockIdx.x) * kNormRowGroups + group; row < rows; row += int64_t(gridDim.x) * kNormRowGroups, parity ^= 1) {
    const int64_t offset = row * d + column;
    const float r = rstd[row];
    float xhat[kChunk], g[kChunk], res[kChunk];
    float sumG = 0, sumGX = 0;  // this thread's share of Σ w·gy and Σ w·gy·x̂ over the row
    if (active) {
      // w (and b) again every row, from L1: held in registers for the whole loop they made the LayerNorm spill.
      float gv[kChunk], wv[kChunk], bv[kChunk];
      load8(w + column, wv);
      if (kCentred && kFromOutput) load8(b + column, bv);
      load8(saved + offset, xhat);
      load8(gy + offset, gv);
      if (residualGrad) load8(residualGrad + offset, res);  // issued before the barrier: its latency overlaps the wait
      const float mu = kCentred && !kFromOutput ? mean[row] : 0.0f;
#pragma unroll
      for (int k = 0; k < kChunk; ++k) {
        xhat[k] = kFromOutput ? unnormaliseOutput(xhat[k], kCentred ? bv[k] : 0.0f, wv[k]) : (xhat[k] - mu) * r;
        g[k] = gv[k] * wv[k];
        gwLocal[k] += gv[k] * xhat[k];
        if (kCentred) gbLocal[k] += gv[k];
        sumG += g[k];
        sumGX += g[k] * xhat[k];
      }
    }
    if (kCentred) sumG = warpSum(sumG);
    sumGX = warpSum(sumGX);
    if (groupWarps > 1) {
      if (lane == 0) {
        rowSums[parity][group][warp][0] = sumG;
        rowSums[parity][group][warp][1] = sumGX;
      }
      asm volatile("bar.sync %0, %1;" ::"r"(group + 1), "r"(groupThreads) : "memory");  // barrier 0 is __syncthreads'
      sumG = sumGX = 0;
      for (int i = 0; i < groupWarps; ++i) {
        sumG += rowSums[parity][group][i][0];
        sumGX += rowSums[parity][group][i][1];
      }
    }
    if (active) {
      const float meanG = kCentred ? sumG / float(d) : 0.0f, meanGX = sumGX / float(d);
      float out[kChunk];
#pragma unroll
      for (int k = 0; k < kChunk; ++k) out[k] = r * (g[k] - meanG - xhat[k] * meanGX) + (residualGrad ? res[k] : 0.0f);
      store8(gx + offset, out);
      if (gxCopy != nullptr) store8(gxCopy + offset, out);
    }
  }
  if (active)
#pragma unroll
    for (int k = 0; k < kChunk; ++k) {
      atomicAdd(&blockSums[column + k], gwLocal[k]);
      if (kCentred) atomicAdd(&blockSums[d + column + k], gbLocal[k]);
    }
  __syncthreads();
  for (int i = threadIdx.x; i < d; i += blockDim.x) {
    partialW[blockIdx.x * int64_t(d) + i] = blockSums[i];
    if (kCentred) partialB[blockIdx.x * int64_t(d) + i] = blockSums[d + i];
  }
}

}  // namespace maskmix::kernels
