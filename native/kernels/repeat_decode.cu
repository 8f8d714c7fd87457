// One greedy decoding step of a column/row/mixed repeat mixer at small batch, in 4 kernels per layer instead of
// libtorch's ~20. At batch 1 a step is bound by launches, not by arithmetic: each weight matrix is read once per
// token (≈ 184 MB for d1024 L8 V8000 in bf16, ≈ 38 µs at an H200's 4.8 TB/s), while every extra kernel costs a few µs even
// inside a CUDA graph. So each matrix product is a warp-per-output-row GEMV whose prologue makes its input (the
// LayerNorm of the residual stream) and whose epilogue does the elementwise work that follows it (the recurrent
// mixing update, GELU, the residual add, the argmax). Each output element has exactly one owning warp, so the
// running sums and the residual stream are updated in place without races.
#include <cstdlib>
#include <cstring>
#include <strings.h>  // strcasecmp

#include "kernels/kernels.h"
#include "kernels/vector_access.cuh"

namespace maskmix::kernels {

namespace {

constexpr int kThreads = 256;  // 8 warps, one output row each

enum class Prologue { None, LayerNorm };
enum class Epilogue { Mixing, Residual, Gelu, Argmax };

// 16 bytes of weights, as loaded (8 bf16 or 4 float32 values), widened to float registers only when used.
template <typename W>
struct WeightVector;
template <>
struct WeightVector<__nv_bfloat16> {
  static constexpr int kWidth = 8;
  __device__ static void widen(const uint4& raw, float (&v)[8]) {
    const unsigned int words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {  // a bf16 is the high half of a float32; the lower-addressed value is the low half-word
      v[2 * i] = __uint_as_float(words[i] << 16);
      v[2 * i + 1] = __uint_as_float(words[i] & 0xffff0000u);
    }
  }
};
template <>
struct WeightVector<float> {
  static constexpr int kWidth = 4;
  __device__ static void widen(const uint4& raw, float (&v)[4]) {
    v[0] = __uint_as_float(raw.x); v[1] = __uint_as_float(raw.y); v[2] = __uint_as_float(raw.z); v[3] = __uint_as_float(raw.w);
  }
};

// A decode GEMV is bound by memory latency, not bandwidth, unless many loads are outstanding: each lane keeps up to
// sixteen 16-byte weight loads in flight, issued before anything else. A warp owns R consecutive output rows and
// loads V vectors per lane of each (R·V ≤ 16): short rows (d1024 bf16: 128 vectors, V = 4 covers them) take R = 4 rows
// per warp so that a matrix is one wave of blocks; long rows (d4096) take one row and V = 16 per chunk.
constexpr int kMaxVectorsInFlight = 16;

// Programmatic dependent launch (Hopper): the next kernel of the step may start while this one runs. Each kernel
// issues its weight loads (which no kernel writes) first, then waits for the previous kernel to finish and its
// writes to be visible, then lets the following kernel start its own weight loads. So a kernel boundary costs
// neither a launch gap nor a cold weight fetch. Both are no-ops when a kernel was launched without the attribute.
__device__ __forceinline__ void waitForPreviousKernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void letNextKernelStart() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

// Orders floats as unsigned integers (larger float → larger key); the low half holds ~index so that, on ties,
// the larger key is the smaller index — torch.argmax's choice.
__device__ __forceinline__ unsigned long long argmaxKey(float v, int64_t index) {
  unsigned int u = __float_as_uint(v);
  u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return (static_cast<unsigned long long>(u) << 32) | (0xffffffffu - static_cast<unsigned int>(index));
}

__device__ __forceinline__ float blockSum(float v, float* scratch) {
  v = warpSum(v);
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = 0;
  for (int i = 0; i < kThreads / 32; ++i) total += scratch[i];
  return total;
}

// Copies input row b (and normalises it, for a LayerNorm prologue) into shared memory, 16 bytes a thread at a time.
template <Prologue P>
__device__ __forceinline__ void stageInput(const RepeatDecodeGemv& g, float4* input, float* scratch) {
  const int K4 = static_cast<int>(g.inFeatures) / 4;
  for (int b = 0; b < g.batch; ++b) {
    const float4* x = reinterpret_cast<const float4*>(g.input + b * g.inputStride);
    float4* row = input + b * K4;
    for (int k = threadIdx.x; k < K4; k += kThreads) row[k] = x[k];
    if (P != Prologue::LayerNorm) continue;
    const float* r = reinterpret_cast<const float*>(row);
    const int K = 4 * K4;
    __syncthreads();
    float sum = 0;
    for (int k = threadIdx.x; k < K; k += kThreads) sum += r[k];
    const float mean = blockSum(sum, scratch) / K;
    float sq = 0;
    for (int k = threadIdx.x; k < K; k += kThreads) sq += (r[k] - mean) * (r[k] - mean);
    const float rstd = rsqrtf(blockSum(sq, scratch) / K + g.normEps);
    float* w = reinterpret_cast<float*>(row);
    for (int k = threadIdx.x; k < K; k += kThreads) w[k] = (r[k] - mean) * rstd * g.normWeight[k] + g.normBias[k];
  }
}

template <typename W, Prologue P, Epilogue E, int V, int R>
__global__ void __launch_bounds__(kThreads) gemvStepKernel(RepeatDecodeGemv g) {
  static_assert(V * R <= kMaxVectorsInFlight, "too many loads in flight per lane");
  extern __shared__ float4 input[];  // [batch, K/4]: the (normalised) input vectors
  __shared__ float scratch[kThreads / 32];
  __shared__ unsigned long long blockBest[kMaxDecodeBatch];  // Argmax: the block's best key per batch row
  const int K = static_cast<int>(g.inFeatures);
  const int batch = static_cast<int>(g.batch);
  constexpr int kWidth = WeightVector<W>::kWidth;
  const int vectorsPerRow = K / kWidth;
  const int lane = threadIdx.x % 32;
  const int64_t firstRow = (static_cast<int64_t>(blockIdx.x) * (kThreads / 32) + threadIdx.x / 32) * R;
  const uint4* weights = reinterpret_cast<const uint4*>(g.weight);

  // Vector i of row r in a chunk starting at `base` is row vector base + 32·i + lane: a warp's loads are contiguous.
  uint4 raw[R][V] = {};  // rows past the matrix stay zero (their sums are never written)
  auto loadChunk = [&](int base) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
      if (firstRow + r >= g.outFeatures) break;
      const uint4* row = weights + (firstRow + r) * vectorsPerRow;
#pragma unroll
      for (int i = 0; i < V; ++i) {
        const int v = base + 32 * i + lane;
        if (v < vectorsPerRow) raw[r][i] = __ldg(row + v);
      }
    }
  };
  loadChunk(0);
  waitForPreviousKernel();
  letNextKernelStart();
  if (E == Epilogue::Argmax && threadIdx.x < kMaxDecodeBatch) blockBest[threadIdx.x] = 0;
  stageInput<P>(g, input, scratch);
  __syncthreads();

  float acc[R][kMaxDecodeBatch] = {};
  for (int base = 0; base < vectorsPerRow; base += 32 * V) {
    if (base > 0) loadChunk(base);
#pragma unroll
    for (int i = 0; i < V; ++i) {
      const int v = base + 32 * i + lane;
      if (v >= vectorsPerRow) break;
      float w[R][kWidth];
#pragma unroll
      for (int r = 0; r < R; ++r) WeightVector<W>::widen(raw[r][i], w[r]);
#pragma unroll
      for (int b = 0; b < kMaxDecodeBatch; ++b) {
        if (b >= batch) break;
        const float4* in = input + (b * K + v * kWidth) / 4;
#pragma unroll
        for (int q = 0; q < kWidth / 4; ++q) {
          const float4 x = in[q];
#pragma unroll
          for (int r = 0; r < R; ++r)
            acc[r][b] += w[r][4 * q] * x.x + w[r][4 * q + 1] * x.y + w[r][4 * q + 2] * x.z + w[r][4 * q + 3] * x.w;
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < batch; ++b) acc[r][b] = warpSum(acc[r][b]);

  if (lane == 0) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int64_t out = firstRow + r;
      if (out >= g.outFeatures) break;
      for (int b = 0; b < batch; ++b) {
        float v = acc[r][b] + (g.bias ? g.bias[out] : 0.f);
        if (E == Epilogue::Residual) {
          g.output[b * g.outputStride + out] += v;
        } else if (E == Epilogue::Gelu) {
          g.output[b * g.outputStride + out] = 0.5f * v * (1.f + erff(v * 0.70710678118654752f));
        } else if (E == Epilogue::Argmax) {
          atomicMax(blockBest + b, argmaxKey(v, out));  // one global atomic per block below, not one per row
        } else {  // Mixing: channel `out` of head h continues its running sum at the current position
          const int64_t position = *g.position;
          if (position >= g.context) continue;  // past the trained context: the host refuses before it gets here
          const int64_t dh = g.outFeatures / g.heads;
          const int64_t h = out / dh, e = out % dh;
          const float decay = fminf(fmaxf(g.decay[h], g.decayMin), g.decayMax);
          const float gamma = expf(logf(decay) / g.decayConstant);
          const float w = g.positionWeight[h * g.context + position];
          float& sum = g.sums[h * (g.batch * dh) + b * dh + e];
          float y;
          if (h < g.columnHeads) {  // column: S = γS + x, y = w_t·S
            sum = gamma * sum + v;
            y = w * sum;
          } else {  // row: R = γR + w_t·x, y = R
            sum = gamma * sum + w * v;
            y = sum;
          }
          g.output[b * g.outputStride + out] = y + g.positionBias[h * g.context + position];
        }
      }
    }
  }
  if (E == Epilogue::Argmax) {
    __syncthreads();
    if (threadIdx.x < batch && blockBest[threadIdx.x] != 0) atomicMax(g.argmax + threadIdx.x, blockBest[threadIdx.x]);
  }
}

// Whether this kernel may overlap its predecessor (programmatic dependent launch), unless MASKMIX_DECODE_PDL is
// 0, false, off or no (kept for measuring what it gains). Only where the code the GPU runs was compiled for sm_90 or newer: below that
// the waits above are compiled out (e.g. an sm_80-only build JIT-compiled from its PTX on a Hopper GPU), and an
// overlapped launch would read its predecessor's output too early.
template <typename Kernel>
bool overlapLaunch(Kernel kernel) {
  const char* setting = std::getenv("MASKMIX_DECODE_PDL");  // read at each capture: a script can compare both
  if (setting != nullptr) {
    for (const char* off : {"0", "false", "off", "no"})
      if (strcasecmp(setting, off) == 0) return false;
  }
  cudaFuncAttributes attributes;
  if (cudaFuncGetAttributes(&attributes, kernel) != cudaSuccess) return false;
  return attributes.ptxVersion >= 90 && attributes.binaryVersion >= 90;
}

int multiprocessors() {
  int device = 0, count = 0;
  if (cudaGetDevice(&device) != cudaSuccess || cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device) != cudaSuccess)
    return 1;
  return count;
}

template <typename Kernel>
void launchStepKernel(Kernel kernel, unsigned int blocks, unsigned int threads, size_t shared, cudaStream_t stream,
                      const RepeatDecodeGemv* g) {
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(blocks);
  config.blockDim = dim3(threads);
  config.dynamicSmemBytes = shared;
  config.stream = stream;
  cudaLaunchAttribute overlap[1];
  overlap[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  overlap[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = overlap;
  config.numAttrs = overlapLaunch(kernel) ? 1 : 0;
  cudaLaunchKernelEx(&config, kernel, *g);
}

template <typename W, Prologue P, Epilogue E, int V, int R>
void launchGemv(const RepeatDecodeGemv& g, cudaStream_t stream) {
  const int64_t rowsPerBlock = (kThreads / 32) * R;
  const unsigned int blocks = static_cast<unsigned int>((g.outFeatures + rowsPerBlock - 1) / rowsPerBlock);
  const size_t shared = static_cast<size_t>(g.batch * g.inFeatures) * sizeof(float);
  launchStepKernel(gemvStepKernel<W, P, E, V, R>, blocks, kThreads, shared, stream, &g);
}

template <typename W, Prologue P, Epilogue E>
void launchGemvShaped(const RepeatDecodeGemv& g, cudaStream_t stream) {
  const int64_t vectorsPerRow = g.inFeatures / WeightVector<W>::kWidth;
  if (vectorsPerRow > 32 * 4) return launchGemv<W, P, E, 16, 1>(g, stream);
  // Short rows: as many rows per warp as keep the grid at least ~one block per multiprocessor.
  const int64_t sms = multiprocessors();
  if (g.outFeatures >= 32 * sms * 9 / 10) return launchGemv<W, P, E, 4, 4>(g, stream);
  if (g.outFeatures >= 16 * sms * 9 / 10) return launchGemv<W, P, E, 4, 2>(g, stream);
  return launchGemv<W, P, E, 4, 1>(g, stream);
}

template <typename W>
void launchGemvFor(RepeatDecodeGemvKind kind, const RepeatDecodeGemv& g, cudaStream_t stream) {
  switch (kind) {
    case RepeatDecodeGemvKind::NormMix: return launchGemvShaped<W, Prologue::LayerNorm, Epilogue::Mixing>(g, stream);
    case RepeatDecodeGemvKind::Residual: return launchGemvShaped<W, Prologue::None, Epilogue::Residual>(g, stream);
    case RepeatDecodeGemvKind::NormGelu: return launchGemvShaped<W, Prologue::LayerNorm, Epilogue::Gelu>(g, stream);
    case RepeatDecodeGemvKind::Argmax: return launchGemvShaped<W, Prologue::None, Epilogue::Argmax>(g, stream);
  }
}

// Embeds the fed tokens into the residual stream and clears the argmax keys the head will fill.
__global__ void embedTokensKernel(const float* embedding, const int64_t* tokens, float* x, unsigned long long* argmax, int64_t d,
                                  int64_t batch) {
  letNextKernelStart();  // the first GEMV may issue its weight loads now; it reads x only after this kernel ends
  for (int64_t b = 0; b < batch; ++b) {
    const float* row = embedding + tokens[b] * d;
    for (int64_t k = threadIdx.x; k < d; k += blockDim.x) x[b * d + k] = row[k];
  }
  if (threadIdx.x < batch) argmax[threadIdx.x] = 0;
}

// Unpacks the argmax, feeds it as the next token, records it at the current position and moves the position on.
__global__ void finishStepKernel(const unsigned long long* argmax, int64_t* tokens, int64_t* history, int64_t* position, int64_t context,
                                 int64_t batch) {
  const int64_t p = *position;
  if (threadIdx.x < batch) {
    int64_t token = 0xffffffffu - static_cast<unsigned int>(argmax[threadIdx.x] & 0xffffffffu);
    tokens[threadIdx.x] = token;
    if (p < context) history[threadIdx.x * context + p] = token;
  }
  __syncthreads();
  if (threadIdx.x == 0) *position = p + 1;
}

}  // namespace

bool repeatDecodeGemvTakes(int64_t batch, int64_t inFeatures, DType weightDtype) {
  int width = weightDtype == DType::BFloat16 ? 8 : 4;
  return batch >= 1 && batch <= kMaxDecodeBatch && inFeatures % width == 0 &&
         static_cast<size_t>(batch * inFeatures) * sizeof(float) <= 40 * 1024;  // under the 48 KiB a launch gets unasked
}

void repeatDecodeGemv(RepeatDecodeGemvKind kind, const RepeatDecodeGemv& g, DType weightDtype, cudaStream_t stream) {
  if (weightDtype == DType::BFloat16) {
    launchGemvFor<__nv_bfloat16>(kind, g, stream);
  } else {
    launchGemvFor<float>(kind, g, stream);
  }
}

void repeatDecodeEmbed(const float* embedding, const int64_t* tokens, float* x, unsigned long long* argmax, int64_t d, int64_t batch,
                       cudaStream_t stream) {
  embedTokensKernel<<<1, 256, 0, stream>>>(embedding, tokens, x, argmax, d, batch);
}

void repeatDecodeFinish(const unsigned long long* argmax, int64_t* tokens, int64_t* history, int64_t* position, int64_t context,
                        int64_t batch, cudaStream_t stream) {
  finishStepKernel<<<1, 32, 0, stream>>>(argmax, tokens, history, position, context, batch);
}

}  // namespace maskmix::kernels
