// Sums the per-block partial rows that the backward row kernels (LayerNorm, RMSNorm, GELU) write for their
// weight and bias gradients: [blocks, cols] float32 → [cols]. libtorch's reduction over the first axis of such a
// short, wide matrix took ~12 µs for 1 MB on an H200 (too few threads per output column). Here each tile of 32
// columns gets 32 row lanes, each summing every 32nd row with four loads in flight; shared memory adds the lanes.
#include "kernels/kernels.h"
#include "kernels/vector_access.cuh"

namespace maskmix::kernels {

namespace {

constexpr int kColumns = 32;
constexpr int kRowLanes = 32;

__global__ void sumPartialRowsKernel(const float* partial, float* out, int64_t rows, int64_t cols) {
  __shared__ float lanes[kRowLanes][kColumns + 1];  // +1: the final column reads hit distinct banks
  const int64_t col = blockIdx.x * int64_t(kColumns) + threadIdx.x;
  float sum = 0;
  if (col < cols) {
    int64_t row = threadIdx.y;
    for (; row + 3 * kRowLanes < rows; row += 4 * kRowLanes) {
      const float a = partial[row * cols + col], b = partial[(row + kRowLanes) * cols + col];
      const float c = partial[(row + 2 * kRowLanes) * cols + col], d = partial[(row + 3 * kRowLanes) * cols + col];
      sum += (a + b) + (c + d);
    }
    for (; row < rows; row += kRowLanes) sum += partial[row * cols + col];
  }
  lanes[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && col < cols) {
    float total = 0;
    for (int lane = 0; lane < kRowLanes; ++lane) total += lanes[lane][threadIdx.x];
    out[col] = total;
  }
}

// Column sums of a [rows, cols] matrix (a bias gradient) in partials: 8 columns a thread, kColumnSumRows rows a
// block row (blockIdx.y), float32 accumulation. libtorch's reduction over the first axis of a bf16 [16384, 1024]
// gradient took 37 µs on an H100 (the L8 mixer's b2), about three times its read time.
constexpr int kColumnSumThreads = 128;
constexpr int kColumnSumRows = 32;
template <typename T>
__global__ void columnSumPartialsKernel(const T* x, float* partial, int64_t rows, int64_t cols) {
  const ColumnTile tile = columnTile(rows, kColumnSumRows);
  if (tile.col >= cols) return;
  float sum[kChunk] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t row = tile.first; row < tile.last; ++row) {
    float v[kChunk];
    load8(x + row * cols + tile.col, v);
#pragma unroll
    for (int k = 0; k < kChunk; ++k) sum[k] += v[k];
  }
  store8(partial + int64_t(blockIdx.y) * cols + tile.col, sum);
}

}  // namespace

int columnSumPartialRows(int64_t rows) { return static_cast<int>((rows + kColumnSumRows - 1) / kColumnSumRows); }

void columnSumPartials(const void* x, DType dtype, float* partial, int64_t rows, int64_t cols, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((cols / kChunk + kColumnSumThreads - 1) / kColumnSumThreads),
                  static_cast<unsigned>(columnSumPartialRows(rows)));
  if (dtype == DType::BFloat16)
    columnSumPartialsKernel<<<grid, kColumnSumThreads, 0, stream>>>(static_cast<const __nv_bfloat16*>(x), partial, rows, cols);
  else
    columnSumPartialsKernel<<<grid, kColumnSumThreads, 0, stream>>>(static_cast<const float*>(x), partial, rows, cols);
}

void sumPartialRows(const float* partial, float* out, int64_t rows, int64_t cols, cudaStream_t stream) {
  const unsigned int tiles = static_cast<unsigned int>((cols + kColumns - 1) / kColumns);
  sumPartialRowsKernel<<<tiles, dim3(kColumns, kRowLanes), 0, stream>>>(partial, out, rows, cols);
}

}  // namespace maskmix::kernels
