// 16-byte loads and stores of 8 elements (bf16) or two 16-byte accesses (float32), widened to float registers.
// The row kernels give each lane whole 8-element chunks, so a warp touches 512 contiguous bytes per access.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace maskmix::kernels {

constexpr int kChunk = 8;

__device__ __forceinline__ void load8(const float* p, float (&v)[kChunk]) {
  float4 a = reinterpret_cast<const float4*>(p)[0];
  float4 b = reinterpret_cast<const float4*>(p)[1];
  v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w;
  v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
}

__device__ __forceinline__ void load8(const __nv_bfloat16* p, float (&v)[kChunk]) {
  uint4 raw = *reinterpret_cast<const uint4*>(p);
  const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    float2 f = __bfloat1622float2(h[i]);
    v[2 * i] = f.x;
    v[2 * i + 1] = f.y;
  }
}

__device__ __forceinline__ void store8(float* p, const float (&v)[kChunk]) {
  reinterpret_cast<float4*>(p)[0] = make_float4(v[0], v[1], v[2], v[3]);
  reinterpret_cast<float4*>(p)[1] = make_float4(v[4], v[5], v[6], v[7]);
}

__device__ __forceinline__ void store8(__nv_bfloat16* p, const float (&v)[kChunk]) {
  uint4 raw;
  __nv_bfloat162* h = reinterpret_cast<__nv_bfloat162*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; ++i) h[i] = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);
  *reinterpret_cast<uint4*>(p) = raw;
}

// 8 values of the float32 residual stream x at `offset` into v; with a deferred sublayer output (delta not null),
// delta is added and the sum written to `sum`: the norm kernels' residual add (rms_norm.cu, layer_norm.cu).
template <typename Delta>
__device__ __forceinline__ void loadResidual8(const float* x, const Delta* delta, float* sum, int64_t offset, float (&v)[kChunk]) {
  load8(x + offset, v);
  if (delta == nullptr) return;
  float dv[kChunk];
  load8(delta + offset, dv);
#pragma unroll
  for (int k = 0; k < kChunk; ++k) v[k] += dv[k];
  store8(sum + offset, v);
}

__device__ __forceinline__ float warpSum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// What one thread of a column-sum launch owns: 8 adjacent columns from col (grid x runs over groups of 8 columns)
// and the rows [first, last) of its row block (grid y). col ≥ cols: the thread has nothing to do.
struct ColumnTile {
  int64_t col, first, last;
};
__device__ __forceinline__ ColumnTile columnTile(int64_t rows, int64_t rowsPerBlock) {
  const int64_t first = int64_t(blockIdx.y) * rowsPerBlock;
  return {(int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * kChunk, first, first + rowsPerBlock < rows ? first + rowsPerBlock : rows};
}

// Blocks for a one-warp-per-row launch: enough warps to cover the rows, at most `cap` blocks (a grid-stride loop
// covers the rest; fewer blocks also means fewer weight-gradient partials in the backward kernels).
inline int warpBlocks(int64_t rows, int threads, int64_t cap = 1056) {
  int64_t warpsPerBlock = threads / 32;
  int64_t blocks = (rows + warpsPerBlock - 1) / warpsPerBlock;
  return static_cast<int>(blocks < cap ? blocks : cap);
}


}  // namespace maskmix::kernels
