// One greedy decoding step of a column/row/mixed repeat mixer at small batch, in 4 kernels per layer instead of
// libtorch's ~20. At batch 1 a step is bound by launches, not by arithmetic: each weight matrix is read once per
// token (≈ 184 MB for d1024 L8 V8000 in bf16, ≈ 38 µs at an H200's 4.8 TB/s), while every extra kernel costs a few µs even
// inside a CUDA graph. So each matrix product is a warp-per-output-row GEMV whose prologue makes its input (the
// LayerNorm of the residual stream) and whose epilogue does the elementwise work that follows it (the recurrent
// mixing update, GELU, the residual add, the argmax). Each output element has exactly one owning warp, so the
// running sums and the residual stream are updated in place without races.
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

// 16-byte weight vectors each lane has in flight at once. A decode GEMV is bound by memory latency, not bandwidth,
// unless many loads are outstanding: a warp issues all of a chunk's loads before its first multiply (16 × 512 B per
// warp covers a whole d4096 bf16 row), and the first chunk is issued before the LayerNorm prologue, whose block
// reductions then run while the weights are on their way.
constexpr int kVectorsInFlight = 16;

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

template <typename W, Prologue P, Epilogue E>
__global__ void __launch_bounds__(kThreads) gemvStepKernel(RepeatDecodeGemv g) {
  extern __shared__ float input[];  // [batch, K]: the (normalised) input vectors
  __shared__ float scratch[kThreads / 32];
  const int K = static_cast<int>(g.inFeatures);
  const int batch = static_cast<int>(g.batch);
  constexpr int kWidth = WeightVector<W>::kWidth;
  const int vectorsPerRow = K / kWidth;
  const int lane = threadIdx.x % 32;
  const int64_t out = static_cast<int64_t>(blockIdx.x) * (kThreads / 32) + threadIdx.x / 32;
  const bool active = out < g.outFeatures;
  const uint4* weightRow = reinterpret_cast<const uint4*>(static_cast<const W*>(g.weight) + (active ? out : 0) * K);

  // Vector i of a chunk starting at `base` is row vector base + 32·i + lane: a warp's loads are contiguous.
  uint4 raw[kVectorsInFlight];
  auto loadChunk = [&](int base) {
#pragma unroll
    for (int i = 0; i < kVectorsInFlight; ++i) {
      const int v = base + 32 * i + lane;
      if (active && v < vectorsPerRow) raw[i] = __ldg(weightRow + v);
    }
  };
  loadChunk(0);

  for (int b = 0; b < batch; ++b) {
    const float* x = g.input + b * g.inputStride;
    float* row = input + b * K;
    for (int k = threadIdx.x; k < K; k += kThreads) row[k] = x[k];
    if (P == Prologue::LayerNorm) {
      __syncthreads();
      float sum = 0;
      for (int k = threadIdx.x; k < K; k += kThreads) sum += row[k];
      float mean = blockSum(sum, scratch) / K;
      float sq = 0;
      for (int k = threadIdx.x; k < K; k += kThreads) sq += (row[k] - mean) * (row[k] - mean);
      float rstd = rsqrtf(blockSum(sq, scratch) / K + g.normEps);
      for (int k = threadIdx.x; k < K; k += kThreads) row[k] = (row[k] - mean) * rstd * g.normWeight[k] + g.normBias[k];
    }
  }
  __syncthreads();
  if (!active) return;

  float acc[kMaxDecodeBatch] = {};
  for (int base = 0; base < vectorsPerRow; base += 32 * kVectorsInFlight) {
    if (base > 0) loadChunk(base);
#pragma unroll
    for (int i = 0; i < kVectorsInFlight; ++i) {
      const int v = base + 32 * i + lane;
      if (v >= vectorsPerRow) break;
      float w[kWidth];
      WeightVector<W>::widen(raw[i], w);
#pragma unroll
      for (int b = 0; b < kMaxDecodeBatch; ++b) {
        if (b >= batch) break;
        const float* in = input + b * K + v * kWidth;
#pragma unroll
        for (int j = 0; j < kWidth; ++j) acc[b] += w[j] * in[j];
      }
    }
  }
  for (int b = 0; b < batch; ++b) acc[b] = warpSum(acc[b]);
  if (lane != 0) return;

  for (int b = 0; b < batch; ++b) {
    float v = acc[b] + (g.bias ? g.bias[out] : 0.f);
    if (E == Epilogue::Residual) {
      g.output[b * g.outputStride + out] += v;
    } else if (E == Epilogue::Gelu) {
      g.output[b * g.outputStride + out] = 0.5f * v * (1.f + erff(v * 0.70710678118654752f));
    } else if (E == Epilogue::Argmax) {
      atomicMax(g.argmax + b, argmaxKey(v, out));
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

template <typename W, Prologue P, Epilogue E>
void launchGemv(const RepeatDecodeGemv& g, cudaStream_t stream) {
  int blocks = static_cast<int>((g.outFeatures + kThreads / 32 - 1) / (kThreads / 32));
  size_t shared = static_cast<size_t>(g.batch * g.inFeatures) * sizeof(float);
  gemvStepKernel<W, P, E><<<blocks, kThreads, shared, stream>>>(g);
}

template <typename W>
void launchGemvFor(RepeatDecodeGemvKind kind, const RepeatDecodeGemv& g, cudaStream_t stream) {
  switch (kind) {
    case RepeatDecodeGemvKind::NormMix: return launchGemv<W, Prologue::LayerNorm, Epilogue::Mixing>(g, stream);
    case RepeatDecodeGemvKind::Residual: return launchGemv<W, Prologue::None, Epilogue::Residual>(g, stream);
    case RepeatDecodeGemvKind::NormGelu: return launchGemv<W, Prologue::LayerNorm, Epilogue::Gelu>(g, stream);
    case RepeatDecodeGemvKind::Argmax: return launchGemv<W, Prologue::None, Epilogue::Argmax>(g, stream);
  }
}

// Embeds the fed tokens into the residual stream and clears the argmax keys the head will fill.
__global__ void embedTokensKernel(const float* embedding, const int64_t* tokens, float* x, unsigned long long* argmax, int64_t d,
                                  int64_t batch) {
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
