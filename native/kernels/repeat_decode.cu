// One greedy decoding step of a column/row/mixed repeat mixer at small batch, in 4 kernels per layer (plus the
// output head) instead of libtorch's ~20. At batch 1 a step is bound by launches, not by arithmetic: each weight matrix is read once per
// token (≈ 184 MB for d1024 L8 V8000 in bf16, ≈ 38 µs at an H200's 4.8 TB/s), while every extra kernel costs a few µs even
// inside a CUDA graph. So each matrix product is a warp-per-output-row GEMV whose prologue makes its input (the
// LayerNorm of the residual stream) and whose epilogue does the elementwise work that follows it (the recurrent
// mixing update, GELU, the residual add, the argmax). Each output element has exactly one owning warp, so the
// running sums and the residual stream are updated in place without races.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include <cooperative_groups.h>

#include "common/env_setting.h"
#include "kernels/kernels.h"
#include "kernels/vector_access.cuh"

namespace maskmix::kernels {

namespace {

constexpr int kThreads = 256;  // 8 warps, one output row each

enum class Prologue { None, LayerNorm };
enum class Epilogue { Mixing, Residual, Gelu, Argmax };

// 16 bytes of weights, as loaded (8 bf16, 4 float32 or 16 int8 values), widened to float registers only when used.
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
// int8 weights (RepeatDecodeGemv::weightScales scales each row's sum): a byte q, flipped to q + 128 by its sign
// bit, becomes the low mantissa byte of 2²³ (one byte permute), and one subtraction leaves q exactly — two
// instructions a value where an integer-to-float conversion issues at a quarter of the rate.
// Widened one 32-bit word (4 values) at a time, as the products use them: 16 floats live at once took the
// four-row kernels to the 128-register cap (and spilled at batch 2 and 4).
template <>
struct WeightVector<int8_t> {
  static constexpr int kWidth = 16;
  __device__ static void widenWord(unsigned int word, float (&v)[4]) {
    const unsigned int biased = word ^ 0x80808080u;
#pragma unroll
    for (int k = 0; k < 4; ++k)  // result bytes: byte k of `biased`, then bytes 4, 5, 7 of the pair (0, 0, 0x4b)
      v[k] = __uint_as_float(__byte_perm(biased, 0x4b000000u, 0x7540u + k)) - 8388736.f;  // 2²³ + 128
  }
};

// bf16 weights in tensor-core operand order (DecodeWeights::BFloat16Fragments): each 16-byte load is one lane's B
// operands of two m16n8k16 MMAs. The products phase of the bf16 kernels issues a widening and an FMA per weight and
// lane; an MMA takes 128 weights per warp instruction (see the products loop in gemvBlock).
struct Bf16Fragments {};
template <>
struct WeightVector<Bf16Fragments> {
  static constexpr int kWidth = 8;
};

// The fragment order of a 256-value tile of a row (decode/fragment_order.h lays the weights out the same way): the
// tile is 16 chunks of 16 values, value e being value e % 16 of chunk e / 16; lane 4g + t holds values 2t, 2t + 1
// and 2t + 8, 2t + 9 of chunks g and g + 8, as the words (value half, chunk half) in that order. Returns the 32-bit
// word holding values e and e + 1 (e even). The weights and the input share the layout.
__device__ __forceinline__ int fragmentWord(int e) {
  const int chunkHalf = e >> 7, g = (e >> 4) & 7, valueHalf = (e >> 3) & 1, t = (e >> 1) & 3;
  return 4 * (4 * g + t) + 2 * valueHalf + chunkHalf;
}
__device__ __forceinline__ unsigned int packBf16(float low, float high) {
  const __nv_bfloat162 pair = __floats2bfloat162_rn(low, high);  // .x (the lower-addressed value) is the low half
  return *reinterpret_cast<const unsigned int*>(&pair);
}
// Float4 j of the staged input (batch row j / K4) as bf16 words in fragment order: `words` holds each row's K/2 words.
__device__ __forceinline__ void storeFragmentWords(unsigned int* words, int j, int K4, const float4& x) {
  const int b = j / K4, k = 4 * (j - b * K4);
  unsigned int* tile = words + b * 2 * K4 + (k / 256) * 128;
  const int e = k % 256;
  tile[fragmentWord(e)] = packBf16(x.x, x.y);
  tile[fragmentWord(e + 2)] = packBf16(x.z, x.w);
}

// C += A·B for one m16n8k16 tile, bf16 operands, float32 accumulators (sm_80 and newer).
__device__ __forceinline__ void mmaTile(float (&c)[4], unsigned int a0, unsigned int a1, unsigned int a2, unsigned int a3, unsigned int b0,
                                        unsigned int b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
#endif
}

// A decode GEMV is bound by memory latency, not bandwidth, unless many loads are outstanding: each lane keeps up to
// sixteen 16-byte weight loads in flight, issued before anything else. A warp owns R consecutive output rows and
// loads V vectors per lane of each (R·V ≤ 16): short rows (d1024 bf16: 128 vectors, V = 4 covers them) take R = 4 rows
// per warp so that a matrix is one wave of blocks; long rows (d4096) take one row and V = 16 per chunk.
constexpr int kMaxVectorsInFlight = 16;

// Programmatic dependent launch (Hopper): the next kernel of the step may start while this one runs. Each kernel
// issues its weight loads (which no kernel writes) first, then waits for the previous kernel to finish and its
// writes to be visible, then lets the following kernel start its own weight loads (some let it start once their own
// loads are issued: RepeatDecodeGemv::launchNextOnEntry). So a kernel boundary costs
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

// The flag hand-over (RepeatDecodeGemv::previousFinished): thread 0 polls the previous GEMV's counter of finished
// blocks until it reaches `target` (modulo 2³²), then one acquire fence makes those blocks' outputs visible to the
// whole block after the barrier (and drops stale L1 lines: later plain loads of the token ids rely on it). Relaxed
// polls, because an acquire load per poll would invalidate the SM's L1 every iteration. This starts the block as
// soon as the last producer block has counted, where griddepcontrol.wait also waits for the producer grid to
// retire. It cannot deadlock: a kernel launched early is launched only once every block of its predecessor has
// started (letNextKernelStart), so the blocks it waits for are resident or done.
__device__ __forceinline__ unsigned int loadRelaxed(const unsigned int* p) {
  unsigned int v;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 700
  asm volatile("ld.relaxed.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
#else
  v = *reinterpret_cast<const volatile unsigned int*>(p);
#endif
  return v;
}
__device__ __forceinline__ void waitForCount(const unsigned int* counter, unsigned int target) {
  if (threadIdx.x == 0) {
    while (static_cast<int>(loadRelaxed(counter) - target) < 0) {
    }
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 700
    asm volatile("fence.acq_rel.gpu;" ::: "memory");
#else
    __threadfence();
#endif
  }
  __syncthreads();
}
// The producer side: once every thread of the block has written its outputs (the barrier), thread 0 adds the block
// to the counter with release semantics at GPU scope, which covers the writes ordered before it by the barrier.
__device__ __forceinline__ void countFinishedBlock(unsigned int* counter) {
  __syncthreads();
  if (threadIdx.x == 0) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 700
    asm volatile("red.release.gpu.global.add.u32 [%0], 1;" ::"l"(counter) : "memory");
#else
    __threadfence();
    atomicAdd(counter, 1u);
#endif
  }
}

// Orders floats as unsigned integers (larger float → larger key); the low half holds ~index so that, on ties,
// the larger key is the smaller index — torch.argmax's choice.
__device__ __forceinline__ unsigned long long argmaxKey(float v, int64_t index) {
  unsigned int u = __float_as_uint(v);
  u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return (static_cast<unsigned long long>(u) << 32) | (0xffffffffu - static_cast<unsigned int>(index));
}

// Per-warp LayerNorm partials of each batch row: element count, mean, and squared deviations from that mean.
struct WarpPartials {
  float count[kMaxDecodeBatch][kThreads / 32];
  float mean[kMaxDecodeBatch][kThreads / 32];
  float deviations[kMaxDecodeBatch][kThreads / 32];
};

// The LayerNorm weight and bias of the float4s a thread normalises: in registers where every row it normalises uses
// the same four channels (K/4 divides the block's threads), else in shared memory after the input rows.
struct NormParameters {
  bool inRegisters = false;
  float4 weight = {}, bias = {};
};

// LayerNorm of the staged rows with one barrier: every thread reads back the float4s it staged itself (its own
// writes need no barrier), each warp reduces them to per-row partials, and after one barrier every thread merges the
// warps' partials (Chan et al.'s pairwise update) and normalises its own float4s in place. Two block-wide sums
// (mean, then squared deviations) took five barriers: on an H100 this took the d1024 L8 step from 128.0 to 126.0 µs
// a token at batch 1, 179.2 to 173.3 at batch 2 and 296.5 to 278.4 at batch 4 (session 16, two runs each).
template <int B>
__device__ __forceinline__ void normaliseByWarpPartials(const RepeatDecodeGemv& g, float4* input, const float* norm, const NormParameters& own,
                                                        WarpPartials& partials) {
  const int K4 = static_cast<int>(g.inFeatures) / 4, K = 4 * K4;
  const int batch = static_cast<int>(g.batch), total = batch * K4;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float sum[B] = {}, count[B] = {}, mean[B] = {}, deviations[B] = {};
#pragma unroll 1  // one float4 a thread at d1024 batch 1: unrolled copies would only be more code to fetch
  for (int j = threadIdx.x; j < total; j += kThreads) {
    const float4 x = input[j];
    const int row = j / K4;
#pragma unroll
    for (int b = 0; b < B; ++b)
      if (b == row) {
        sum[b] += (x.x + x.y) + (x.z + x.w);
        count[b] += 4.f;
      }
  }
#pragma unroll
  for (int b = 0; b < B; ++b) {
    if (b >= batch) break;
    for (int offset = 16; offset > 0; offset /= 2) {
      sum[b] += __shfl_xor_sync(0xffffffffu, sum[b], offset);
      count[b] += __shfl_xor_sync(0xffffffffu, count[b], offset);
    }
    mean[b] = count[b] > 0 ? sum[b] / count[b] : 0.f;
  }
#pragma unroll 1
  for (int j = threadIdx.x; j < total; j += kThreads) {
    const float4 x = input[j];
    const int row = j / K4;
#pragma unroll
    for (int b = 0; b < B; ++b)
      if (b == row) {
        const float d0 = x.x - mean[b], d1 = x.y - mean[b], d2 = x.z - mean[b], d3 = x.w - mean[b];
        deviations[b] += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3);
      }
  }
#pragma unroll
  for (int b = 0; b < B; ++b) {
    if (b >= batch) break;
    deviations[b] = warpSum(deviations[b]);
    if (lane == 0) {
      partials.count[b][warp] = count[b];
      partials.mean[b][warp] = mean[b];
      partials.deviations[b][warp] = deviations[b];
    }
  }
  __syncthreads();
  float rowMean[B] = {}, rowScale[B] = {};
#pragma unroll
  for (int b = 0; b < B; ++b) {
    if (b >= batch) break;
    float m = 0, d = 0;
#pragma unroll
    for (int w = 0; w < kThreads / 32; ++w) m += partials.count[b][w] * partials.mean[b][w];
    m /= K;
#pragma unroll
    for (int w = 0; w < kThreads / 32; ++w) {
      const float offset = partials.mean[b][w] - m;
      d += partials.deviations[b][w] + partials.count[b][w] * offset * offset;
    }
    rowMean[b] = m;
    rowScale[b] = rsqrtf(d / K + g.normEps);
  }
  const float4* weight = reinterpret_cast<const float4*>(norm);
  const float4* bias = weight + K4;
#pragma unroll 1
  for (int j = threadIdx.x; j < total; j += kThreads) {
    const int row = j / K4, k = j - row * K4;
    float m = 0, r = 0;
#pragma unroll
    for (int b = 0; b < B; ++b)
      if (b == row) {
        m = rowMean[b];
        r = rowScale[b];
      }
    float4 x = input[j];
    const float4 w = own.inRegisters ? own.weight : weight[k], c = own.inRegisters ? own.bias : bias[k];
    x.x = (x.x - m) * r * w.x + c.x;
    x.y = (x.y - m) * r * w.y + c.y;
    x.z = (x.z - m) * r * w.z + c.z;
    x.w = (x.w - m) * r * w.w + c.w;
    input[j] = x;
  }
}

// Copies the batch's input rows into shared memory (16 bytes a thread at a time, up to four loads in flight per
// thread: one L2 round trip where a load-then-store loop would wait once per row chunk), then, for a LayerNorm
// prologue whose weight and bias are already in `norm` (or in `own`), normalises each row.
// With `words` (tensor-core products), the rows are also written as bf16 words in fragment order; without a
// LayerNorm only so.
template <Prologue P, int B>
__device__ __forceinline__ void stageInput(const RepeatDecodeGemv& g, float4* input, const float* norm, const NormParameters& own,
                                           WarpPartials& partials, unsigned int* words) {
  constexpr int kLoads = 4;
  const int K4 = static_cast<int>(g.inFeatures) / 4;
  const int batch = static_cast<int>(g.batch);
  const int total = batch * K4;
  for (int first = threadIdx.x; first < total; first += kThreads * kLoads) {
    float4 staged[kLoads];
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      const int j = first + i * kThreads;
      if (j >= total) break;
      const int b = j / K4;
      const int64_t source = g.inputTokens ? g.inputTokens[b] : b;
      // Activations bypass L1 (__ldcg): in the persistent kernel another block wrote them since this SM last read them.
      staged[i] = __ldcg(reinterpret_cast<const float4*>(g.input + source * g.inputStride) + (j - b * K4));
    }
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      const int j = first + i * kThreads;
      if (j >= total) break;
      if (P == Prologue::None && words != nullptr) {
        storeFragmentWords(words, j, K4, staged[i]);
      } else {
        input[j] = staged[i];
      }
    }
  }
  if (P == Prologue::LayerNorm) {
    normaliseByWarpPartials<B>(g, input, norm, own, partials);
    if (words != nullptr)  // each thread's own normalised float4s: no barrier before reading them
      for (int j = threadIdx.x; j < total; j += kThreads) storeFragmentWords(words, j, K4, input[j]);
  }
}

// What the Mixing epilogue reads besides the product, for one output row: fetched before the kernel waits on its
// predecessor (the position moves, and the running sums change, only between steps).
struct MixingOperands {
  float gamma = 0, weight = 0, bias = 0;
  bool column = true;
  float* sum = nullptr;  // the channel's running sum of batch row 0; row b's is sum[b·sumStride]
  int sumStride = 0;
};

// 32-bit index arithmetic: a 64-bit division is a long instruction sequence, and every instruction of the kernel
// is fetched again each time it runs (see dispatchGemv).
__device__ __forceinline__ MixingOperands mixingOperands(const RepeatDecodeGemv& g, int out, int position) {
  MixingOperands m;
  const int dh = static_cast<int>(g.outFeatures) / static_cast<int>(g.heads);
  const int h = out / dh;
  const float decay = fminf(fmaxf(g.decay[h], g.decayMin), g.decayMax);
  m.gamma = expf(logf(decay) / g.decayConstant);
  const int at = h * static_cast<int>(g.context) + position;
  m.weight = g.positionWeight[at];
  m.bias = g.positionBias[at];
  m.column = h < g.columnHeads;
  m.sum = g.sums + h * static_cast<int>(g.batch) * dh + (out - h * dh);  // sums: [heads, batch·dh]
  m.sumStride = dh;
  return m;
}

// The last block of the head kernel to finish: the keys become the next tokens; position, keys and counter move on.
__device__ void finishStep(const RepeatDecodeGemv& g) {
  __shared__ bool last;
  __threadfence();  // this block's key updates before its count
  __syncthreads();
  if (threadIdx.x == 0) last = atomicAdd(g.blocksDone, 1u) == gridDim.x - 1;
  __syncthreads();
  if (!last) return;
  __threadfence();
  const int64_t p = __ldcg(g.stepPosition);
  if (threadIdx.x < g.batch) {
    const unsigned long long key = atomicExch(g.argmax + threadIdx.x, 0ull);  // read and clear for the next step
    const int64_t token = 0xffffffffu - static_cast<unsigned int>(key & 0xffffffffu);
    g.nextTokens[threadIdx.x] = token;
    if (p < g.context) g.history[threadIdx.x * g.context + p] = token;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    *g.stepPosition = p + 1;
    *g.blocksDone = 0;
    if (g.steps != nullptr) atomicAdd(g.steps, 1u);  // read by the next step's GEMVs after its first kernel's grid wait
  }
}

// What a block keeps in shared memory besides its input rows.
struct BlockShared {
  WarpPartials partials;                     // LayerNorm
  unsigned long long best[kMaxDecodeBatch];  // Argmax: the block's best key per batch row
};

// A 16-byte weight load through the read-only path with an L2 eviction policy. The weights are read once a token and
// are more than the L2 holds, so they are marked evict-first (RepeatDecodeGemv::weightsEvictFirst): they pass
// through the L2 without pushing out what the step reads again. On an H100 this took the d1024 L8 step from 134.4
// to 128.9 µs a token at batch 1, 188.5 to 180.9 at batch 2 and 304.9 to 299.8 at batch 4 (session 16, two runs
// each); the timeline shows the up-projections starting 1-1.5 µs sooner after their predecessors.
__device__ __forceinline__ unsigned long long weightPolicy(bool evictFirst) {
  unsigned long long first = 0, normal = 0;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(first));
  asm("createpolicy.fractional.L2::evict_normal.b64 %0, 1.0;" : "=l"(normal));
#endif
  return evictFirst ? first : normal;
}
__device__ __forceinline__ uint4 loadWeights(const uint4* p, unsigned long long policy) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  uint4 v;
  asm("ld.global.nc.L2::cache_hint.v4.u32 {%0, %1, %2, %3}, [%4], %5;"
      : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p), "l"(policy));
  return v;
#else
  return __ldg(p);
#endif
}

// The 32-bit shared-state-space address of a pointer into shared memory, as the cp.async and mbarrier forms take it.
__device__ __forceinline__ unsigned int sharedAddress(const void* p) { return static_cast<unsigned int>(__cvta_generic_to_shared(p)); }

// Split output (RepeatDecodeGemv::splitWeight): the block's columns of the second matrix are copied into shared memory
// while the first matrix's products run (cp.async: the copy needs no registers, so the first matrix's loads keep theirs).
__device__ __forceinline__ void copyToSharedAsync(void* shared, const void* global) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(sharedAddress(shared)), "l"(global) : "memory");
#else
  *reinterpret_cast<uint4*>(shared) = *reinterpret_cast<const uint4*>(global);
#endif
}
__device__ __forceinline__ void commitAsyncCopies() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}
__device__ __forceinline__ void waitForAsyncCopies() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group 0;" ::: "memory");
#endif
}

// Eight consecutive weights of type W (bf16 or float32) from shared memory, widened.
template <typename W>
__device__ __forceinline__ void loadEight(const W* p, float (&v)[8]) {
  if constexpr (std::is_same_v<W, __nv_bfloat16>) {
    WeightVector<W>::widen(*reinterpret_cast<const uint4*>(p), v);
  } else {
    float (&low)[4] = *reinterpret_cast<float (*)[4]>(v);
    float (&high)[4] = *reinterpret_cast<float (*)[4]>(v + 4);
    WeightVector<float>::widen(reinterpret_cast<const uint4*>(p)[0], low);
    WeightVector<float>::widen(reinterpret_cast<const uint4*>(p)[1], high);
  }
}

__device__ __forceinline__ unsigned long long globalTimer() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// Where a GEMV block waits for the output of the GEMV before it (after fetching what does not depend on it).
// Timed (a timeline run's kernels only): note when the wait returned, and mark() the later stages. Compiled out of
// the production kernels: the hooks' code and registers cost batch 4 about 65 µs a token on an H100.
template <bool Timed>
struct WaitForPreviousKernel {  // one kernel per GEMV: programmatic dependent launch
  const unsigned int* previousFinished;  // null: wait for the previous kernel to end
  unsigned int target;
  mutable unsigned long long marks[3] = {};  // the wait returned; the input staged (and normalised); the products summed
  __device__ void mark(int stage) const {
    if constexpr (Timed) marks[stage] = globalTimer();
  }
  __device__ void operator()() const {
    if (previousFinished == nullptr) {
      waitForPreviousKernel();
    } else {
      waitForCount(previousFinished, target);
    }
    mark(0);
    letNextKernelStart();
  }
};

// The second matrix of a split-output GEMV (RepeatDecodeGemv::splitWeight): output o is row o of the block's columns
// (in shared memory) times the block's outputs, added into the residual stream's next copy; the block whose share o
// is in also adds the residual (the unnormalised input row) and the bias. splitVector (sm_90): each thread takes four
// consecutive outputs and adds them with one 16-byte atomic, a quarter of the atomics (weights laid out as
// [rows/8, 4, splitOut/4, 8]: output 4g + i of chunk q at (4q + i)·splitOut/4 + g, consecutive threads reading
// consecutive 16 bytes); else one output a thread ([rows/8, splitOut, 8]).
template <typename W, int B, int kRows>
__device__ __forceinline__ void splitProducts(const RepeatDecodeGemv& g, int64_t block, const W* weights, const float* rows) {
  const int splitOut = static_cast<int>(g.splitOut), batch = static_cast<int>(g.batch);
  const int share = (splitOut + static_cast<int>(gridDim.x) - 1) / static_cast<int>(gridDim.x);
  auto ownPart = [&](int b, int o) {  // residual and bias, from the block whose share output o is in
    if (o / share != block) return 0.f;
    const int64_t source = g.inputTokens ? g.inputTokens[b] : b;
    return __ldcg(g.input + source * g.inputStride + o) + (g.splitBias != nullptr ? g.splitBias[o] : 0.f);
  };
  auto dot = [&](const float (&w)[8], int b, int q) {
    const float4 h0 = reinterpret_cast<const float4*>(rows + b * kRows + 8 * q)[0];
    const float4 h1 = reinterpret_cast<const float4*>(rows + b * kRows + 8 * q)[1];
    return (w[0] * h0.x + w[1] * h0.y + w[2] * h0.z + w[3] * h0.w) + (w[4] * h1.x + w[5] * h1.y + w[6] * h1.z + w[7] * h1.w);
  };
  if (g.splitVector) {
    const int groups = splitOut / 4;
    for (int group = threadIdx.x; group < groups; group += kThreads) {
      float sum[B][4] = {};
#pragma unroll
      for (int q = 0; q < kRows / 8; ++q)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          float w[8];
          loadEight<W>(weights + ((4 * q + i) * groups + group) * 8, w);
#pragma unroll
          for (int b = 0; b < B; ++b)
            if (b < batch) sum[b][i] += dot(w, b, q);
        }
#pragma unroll
      for (int b = 0; b < B; ++b) {
        if (b >= batch) break;
        float4 v = make_float4(sum[b][0] + ownPart(b, 4 * group), sum[b][1] + ownPart(b, 4 * group + 1), sum[b][2] + ownPart(b, 4 * group + 2),
                               sum[b][3] + ownPart(b, 4 * group + 3));
        float* out = g.splitOutput + b * splitOut + 4 * group;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
        atomicAdd(reinterpret_cast<float4*>(out), v);
#else
        atomicAdd(out, v.x), atomicAdd(out + 1, v.y), atomicAdd(out + 2, v.z), atomicAdd(out + 3, v.w);
#endif
      }
    }
    return;
  }
  // One output a thread.
  for (int o = threadIdx.x; o < splitOut; o += kThreads) {
    float sum[B] = {};
#pragma unroll
    for (int q = 0; q < kRows / 8; ++q) {
      float w[8];
      loadEight<W>(weights + (q * splitOut + o) * 8, w);
#pragma unroll
      for (int b = 0; b < B; ++b)
        if (b < batch) sum[b] += dot(w, b, q);
    }
#pragma unroll
    for (int b = 0; b < B; ++b) {
      if (b >= batch) break;
      atomicAdd(g.splitOutput + b * splitOut + o, sum[b] + ownPart(b, o));
    }
  }
}

// The part of the output rows `block` covers (8·R rows) of one GEMV, as one block of the grid: its own kernel
// (gemvStepKernel) or one of the phases of the persistent kernel. `wait()` is called once every operand that does
// not depend on the previous GEMV is fetched.
template <typename W, Prologue P, Epilogue E, int V, int R, typename Wait, int B = kMaxDecodeBatch, bool S = false>
__device__ __forceinline__ void gemvBlock(const RepeatDecodeGemv& g, int64_t block, const Wait& wait, BlockShared& shared) {
  static_assert(V * R <= kMaxVectorsInFlight, "too many loads in flight per lane");
  // [batch, K/4]: the (normalised) input vectors; then LayerNorm weight and bias; then, for tensor-core products,
  // the input as bf16 words in fragment order [batch, K/2] (without a LayerNorm, only these: sharedBytes).
  extern __shared__ float4 input[];
  constexpr bool kMma = std::is_same_v<W, Bf16Fragments>;
  unsigned long long* blockBest = shared.best;
  __syncthreads();  // a block doing several in a row: the previous one's warps may still read the shared input
  const int K = static_cast<int>(g.inFeatures);
  const int batch = static_cast<int>(g.batch);
  constexpr int kWidth = WeightVector<W>::kWidth;
  const int vectorsPerRow = K / kWidth;
  const int lane = threadIdx.x % 32;
  const int64_t firstRow = (block * (kThreads / 32) + threadIdx.x / 32) * R;
  const uint4* weights = reinterpret_cast<const uint4*>(g.weight);

  // Vector i of row r in a chunk starting at `base` is row vector base + 32·i + lane: a warp's loads are contiguous.
  uint4 raw[R][V] = {};  // rows past the matrix stay zero (their results are never written)
  const unsigned long long policy = weightPolicy(g.weightsEvictFirst);
  auto loadChunk = [&](int base) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
      if (firstRow + r >= g.outFeatures) break;
      const uint4* row = weights + (firstRow + r) * vectorsPerRow;
#pragma unroll
      for (int i = 0; i < V; ++i) {
        const int v = base + 32 * i + lane;
        if (v < vectorsPerRow) raw[r][i] = loadWeights(row + v, policy);
      }
    }
  };
  // The LayerNorm → mixing kernel at batch 1 loads its thread's LayerNorm parameters into registers, before the
  // weights: a warp gets to its wait only once its pre-wait loads are back (the shared-memory copy below needs
  // them), and loads issued after the weight loads tend to come back after them. On an H100 (d1024 L8, two runs
  // each) 125.9 → 124.3 µs a token, and 120.9 → 119.3 with the early up-projection (RepeatDecodeGemv::
  // launchNextOnEntry). Not in the other kernels: its 16 more registers there would keep the up-projection from
  // fitting beside its predecessors, and in the batch 4 kernels (all LayerNorm kernels) this change took 281 to
  // 349 µs for reasons not found.
  NormParameters own;
  const int K4 = K / 4;
  constexpr bool kNormFirst = P == Prologue::LayerNorm && E == Epilogue::Mixing && B == 1;
  own.inRegisters = kNormFirst && g.normParametersFirst && K4 <= kThreads && kThreads % K4 == 0;
  if (own.inRegisters) {
    own.weight = __ldg(reinterpret_cast<const float4*>(g.normWeight) + threadIdx.x % K4);
    own.bias = __ldg(reinterpret_cast<const float4*>(g.normBias) + threadIdx.x % K4);
  }
  loadChunk(0);
  // Split output: [rows/8, splitOut, 8] weights after the LayerNorm parameters, then the rows' outputs [batch, rows].
  constexpr int kRows = (kThreads / 32) * R;
  const int splitOut = S ? static_cast<int>(g.splitOut) : 0;
  W* splitWeights = reinterpret_cast<W*>(reinterpret_cast<float*>(input + batch * K / 4) + 2 * K);
  float* splitRows = reinterpret_cast<float*>(splitWeights + kRows * splitOut);
  if constexpr (S) {
    const int copies = kRows * splitOut * static_cast<int>(sizeof(W)) / 16;
    const uint4* source = reinterpret_cast<const uint4*>(g.splitWeight) + block * copies;
    for (int i = threadIdx.x; i < copies; i += kThreads) copyToSharedAsync(reinterpret_cast<uint4*>(splitWeights) + i, source + i);
    commitAsyncCopies();
  }
  if (g.launchNextOnEntry) letNextKernelStart();  // the next kernel's blocks may take free slots and issue their loads

  // Before waiting on the previous kernel, what was written two or more kernels back, or never during decoding:
  // biases, LayerNorm parameters (into shared memory after the input rows), the mixing operands and running sums.
  // The position and the sums change between steps: the head kernel's last block moves the position, and the
  // first layer's kernel follows the head (in the same graph when a replay chains several steps), so that kernel
  // reads them after its wait.
  float* norm = reinterpret_cast<float*>(input + batch * K / 4);
  unsigned int* inputWords = !kMma ? nullptr : P == Prologue::LayerNorm ? reinterpret_cast<unsigned int*>(norm + 2 * K) : reinterpret_cast<unsigned int*>(input);
  if (P == Prologue::LayerNorm && !own.inRegisters)
    for (int k = threadIdx.x; k < K; k += kThreads) {
      norm[k] = g.normWeight[k];
      norm[K + k] = g.normBias[k];
    }
  // Lane r < R finishes the warp's row r (fetching its operands itself): the rows' epilogues run side by side, where
  // one lane doing all R rows chained them (four erff and stores at a time in the up-projection).
  const int64_t ownRow = firstRow + lane;
  const bool finishes = lane < R && ownRow < g.outFeatures;
  float rowBias = 0, rowScale = 1;
  MixingOperands mixing;
  float carried[B] = {};  // Mixing: running sums; Residual: the residual rows (read after the wait)
  int64_t position = 0;
  auto fetchRowOperands = [&] {
    if (E == Epilogue::Mixing) position = __ldcg(g.position);
    if (g.bias) rowBias = g.bias[ownRow];
    if constexpr (std::is_same_v<W, int8_t>) rowScale = g.weightScales[ownRow];
    if (E == Epilogue::Mixing && position < g.context) {
      mixing = mixingOperands(g, static_cast<int>(ownRow), static_cast<int>(position));
#pragma unroll
      for (int b = 0; b < B; ++b)
        if (b < batch) carried[b] = __ldcg(mixing.sum + b * mixing.sumStride);
    }
  };
  const bool firstLayer = g.inputTokens != nullptr;
  if (finishes && !firstLayer) fetchRowOperands();

  wait();
  if constexpr (S || E == Epilogue::Argmax) {  // the previous kernel has ended, and with it every read of what is cleared here
    const int64_t share = (g.clearFloats + gridDim.x - 1) / gridDim.x;
    if (g.clear != nullptr)
      for (int64_t j = block * share + threadIdx.x; j < min((block + 1) * share, g.clearFloats); j += kThreads) g.clear[j] = 0.f;
  }
  if (finishes && firstLayer) fetchRowOperands();
  if (E == Epilogue::Residual && finishes) {
#pragma unroll
    for (int b = 0; b < B; ++b) {
      if (b >= batch) break;
      const float* residual = g.residual == nullptr ? g.output + b * g.outputStride
                                                    : g.residual + (g.residualTokens ? g.residualTokens[b] : b) * g.residualStride;
      carried[b] = __ldcg(residual + ownRow);
    }
  }
  if (E == Epilogue::Argmax && threadIdx.x < kMaxDecodeBatch) blockBest[threadIdx.x] = 0;
  stageInput<P, B>(g, input, norm, own, shared.partials, inputWords);
  __syncthreads();
  wait.mark(1);

  float acc[R][B] = {};
  // Tensor-core products: MMA accumulators per row and pair of batch rows, in kChains independent chains (an MMA
  // waits for the previous one on its accumulators): about four chains a warp where registers allow.
  constexpr int kBatchPairs = kMma ? (B + 1) / 2 : 1, kChains = kMma && R * kBatchPairs < 4 ? 4 / (R * kBatchPairs) : 1;
  float sums[kMma ? R : 1][kBatchPairs][kChains][4] = {};
  for (int base = 0; base < vectorsPerRow; base += 32 * V) {
    if (base > 0) loadChunk(base);
#pragma unroll
    for (int i = 0; i < V; ++i) {
      const int v = base + 32 * i + lane;
      if (v >= vectorsPerRow) break;  // the same for every lane where K % 256 == 0 (tensor-core products need it)
      if constexpr (kMma) {
        // Tensor-core products. The warp's 32 loads i of row r are one 256-value tile of that row: 16 chunks of
        // 16 values. One MMA takes chunks 0-7 as the 8 columns of its B operand (words x, z of each lane), the
        // other chunks 8-15 (y, w); A's rows are the same chunks of the input, batch row b0 in rows 0-7 and b1
        // (= b0 + 1, or zeros) in rows 8-15. Row n's dot product with column n is chunk n's part of the tile's
        // sum, so the diagonals accumulate the row's sum: b0's at (n, n), b1's at (8 + n, n), which lane 4n + n/2
        // holds in c[n % 2] and c[2 + n % 2]. Seven of eight products are thrown away; what counts is one MMA per
        // 128 weights a warp instead of a widening and an FMA per weight a lane.
#pragma unroll
        for (int p = 0; p < kBatchPairs; ++p) {
          if (2 * p >= batch) break;
          const uint4* x = reinterpret_cast<const uint4*>(inputWords) + 2 * p * vectorsPerRow + v;
          const uint4 x0 = x[0], x1 = 2 * p + 1 < batch ? x[vectorsPerRow] : make_uint4(0, 0, 0, 0);
#pragma unroll
          for (int r = 0; r < R; ++r) {
            float (&c)[4] = sums[r][p][i % kChains];
            mmaTile(c, x0.x, x1.x, x0.z, x1.z, raw[r][i].x, raw[r][i].z);
            mmaTile(c, x0.y, x1.y, x0.w, x1.w, raw[r][i].y, raw[r][i].w);
          }
        }
      } else {
#pragma unroll
        for (int r = 0; r < R; ++r) {  // one row's weights widened at a time: fewer live registers than all R rows
          if constexpr (std::is_same_v<W, int8_t>) {
            const unsigned int words[4] = {raw[r][i].x, raw[r][i].y, raw[r][i].z, raw[r][i].w};
#pragma unroll
            for (int q = 0; q < 4; ++q) {
              float w[4];
              WeightVector<W>::widenWord(words[q], w);
#pragma unroll
              for (int b = 0; b < B; ++b) {
                if (b >= batch) break;
                const float4 x = input[(b * K + v * kWidth) / 4 + q];
                acc[r][b] += w[0] * x.x + w[1] * x.y + w[2] * x.z + w[3] * x.w;
              }
            }
          } else {
            float w[kWidth];
            WeightVector<W>::widen(raw[r][i], w);
#pragma unroll
            for (int b = 0; b < B; ++b) {
              if (b >= batch) break;
              const float4* in = input + (b * K + v * kWidth) / 4;
#pragma unroll
              for (int q = 0; q < kWidth / 4; ++q) {
                const float4 x = in[q];
                acc[r][b] += w[4 * q] * x.x + w[4 * q + 1] * x.y + w[4 * q + 2] * x.z + w[4 * q + 3] * x.w;
              }
            }
          }
        }
      }
    }
  }
  // Tensor-core products: only the eight lanes holding a diagonal element (t = g/2) carry a part of the sum.
  const bool carriesSum = !kMma || (lane & 3) == (lane >> 3);
  if constexpr (kMma) {
    const bool oddChunk = (lane >> 2) & 1;
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int p = 0; p < kBatchPairs; ++p)
#pragma unroll
        for (int k = 0; k < kChains; ++k) {
          const float(&c)[4] = sums[r][p][k];
          acc[r][2 * p] += oddChunk ? c[1] : c[0];
          if (2 * p + 1 < B) acc[r][2 * p + 1] += oddChunk ? c[3] : c[2];
        }
  }
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int b = 0; b < B; ++b)
      if (b < batch) acc[r][b] = warpSum(carriesSum ? acc[r][b] : 0.f);
  wait.mark(2);

  if (finishes) {
#pragma unroll
    for (int b = 0; b < B; ++b) {
      if (b >= batch) break;
      float v = acc[0][b];  // this lane's row (a select chain: registers cannot be indexed at run time)
#pragma unroll
      for (int r = 1; r < R; ++r)
        if (lane == r) v = acc[r][b];
      if constexpr (std::is_same_v<W, int8_t>) v *= rowScale;
      v += rowBias;
      float* y = S ? splitRows + b * kRows + (ownRow - block * kRows) : g.output + b * g.outputStride + ownRow;
      if (E == Epilogue::Residual) {
        *y = carried[b] + v;
      } else if (E == Epilogue::Gelu) {
        *y = 0.5f * v * (1.f + erff(v * 0.70710678118654752f));
      } else if (E == Epilogue::Argmax) {
        atomicMax(blockBest + b, argmaxKey(v, ownRow));  // one global atomic per block below, not one per row
      } else {  // Mixing: channel `ownRow` continues its head's running sum at the current position
        if (position >= g.context) {  // past the trained context: the host refuses before it gets here
          if (S)
            for (int c = b; c < batch; ++c) splitRows[c * kRows + (ownRow - block * kRows)] = 0.f;
          break;
        }
        float& sum = carried[b];
        if (mixing.column) {  // column: S = γS + x, y = w_t·S
          sum = mixing.gamma * sum + v;
          *y = mixing.weight * sum + mixing.bias;
        } else {  // row: R = γR + w_t·x, y = R
          sum = mixing.gamma * sum + mixing.weight * v;
          *y = sum + mixing.bias;
        }
        mixing.sum[b * mixing.sumStride] = sum;
      }
    }
  }
  if (E == Epilogue::Argmax) {
    __syncthreads();
    if (threadIdx.x < batch && blockBest[threadIdx.x] != 0) atomicMax(g.argmax + threadIdx.x, blockBest[threadIdx.x]);
  }
  if constexpr (S) {
    waitForAsyncCopies();
    __syncthreads();  // every thread's copies and every warp's outputs in shared memory
    splitProducts<W, B, kRows>(g, block, splitWeights, splitRows);
  }
}

template <typename W, Prologue P, Epilogue E, int V, int R, int B, bool Timed, bool S = false>
__global__ void __launch_bounds__(kThreads, 2) gemvStepKernel(RepeatDecodeGemv g) {
  __shared__ BlockShared shared;
  // The step's GEMVs after its first start once the step's first kernel has waited for the previous step's head
  // (which moves `steps` on), so this is the current step's count.
  const unsigned int target = g.previousFinished == nullptr ? 0u : g.previousBlocks * (__ldcg(g.steps) + 1u);
  const unsigned long long entered = Timed ? globalTimer() : 0;
  const WaitForPreviousKernel<Timed> wait{g.previousFinished, target};
  gemvBlock<W, P, E, V, R, WaitForPreviousKernel<Timed>, B, S>(g, blockIdx.x, wait, shared);
  // Timeline: the position is this step's until the head's last block moves it on, which (with the grid hand-over)
  // happens after every block of the step read it.
  const int64_t position = Timed && threadIdx.x == 0 ? __ldcg(g.timelinePosition) : 0;
  if (E == Epilogue::Argmax) finishStep(g);
  if (g.finished != nullptr) countFinishedBlock(g.finished);  // flag hand-over: once all its outputs are written
  if constexpr (Timed) {
    __syncthreads();  // every warp's outputs written
    if (threadIdx.x == 0) {
      unsigned long long* t = g.timeline + ((position % g.timelineSlots) * g.timelineStride + blockIdx.x) * kTimelineMarks;
      t[0] = entered;
      for (int k = 0; k < 3; ++k) t[1 + k] = wait.marks[k];
      t[4] = globalTimer();
    }
  }
}

// ---------------------------------------------------------------- the whole step as one kernel
// MASKMIX_DECODE_PERSISTENT=1: one cooperative kernel runs every GEMV of the step as a phase, the grid synchronising
// between phases instead of one kernel ending and the next starting. Each block issues its weight loads for a phase
// before the grid barrier that ends the previous one, as the overlapped launches do before their wait.

// The output-row shapes a block can take: V 16-byte weight loads per lane and row, R rows per warp.
enum class Shape : int { V16R1, V4R4, V4R2, V4R1 };

struct WaitForGrid {  // a phase's first block on this SM waits for every block to finish the previous phase
  bool active;
  __device__ void mark(int) const {}
  __device__ void operator()() const {
    if (active) cooperative_groups::this_grid().sync();
  }
};

// Not inlined: each shape gets its own register allocation (inlined together into one kernel they spill).
template <typename W, Prologue P, Epilogue E, int V, int R>
__device__ __noinline__ void gemvPhaseBlock(const RepeatDecodeGemv& g, int64_t block, const WaitForGrid& wait, BlockShared& shared) {
  gemvBlock<W, P, E, V, R>(g, block, wait, shared);
}

template <typename W, Prologue P, Epilogue E>
__device__ __forceinline__ void gemvBlockShaped(Shape shape, const RepeatDecodeGemv& g, int64_t block, const WaitForGrid& wait, BlockShared& shared) {
  switch (shape) {
    case Shape::V16R1: gemvPhaseBlock<W, P, E, 16, 1>(g, block, wait, shared); break;
    case Shape::V4R1: gemvPhaseBlock<W, P, E, 4, 1>(g, block, wait, shared); break;
    case Shape::V4R2:
      if constexpr (E != Epilogue::Mixing) gemvPhaseBlock<W, P, E, 4, 2>(g, block, wait, shared);
      break;
    case Shape::V4R4:
      if constexpr (E != Epilogue::Mixing) gemvPhaseBlock<W, P, E, 4, 4>(g, block, wait, shared);
      break;
  }
}

template <typename W>
__global__ void __launch_bounds__(kThreads, 2) persistentStepKernel(const RepeatDecodePhase* __restrict__ phases, int count) {
  __shared__ BlockShared shared;
  for (int p = 0; p < count; ++p) {
    const RepeatDecodePhase& phase = phases[p];
    const Shape shape = static_cast<Shape>(phase.shape);
    // Phase 0 (the first layer) reads what the previous step's kernel wrote: stream order makes it visible.
    if (blockIdx.x >= phase.blocks) {
      if (p > 0) cooperative_groups::this_grid().sync();
      continue;
    }
    for (unsigned int block = blockIdx.x; block < phase.blocks; block += gridDim.x) {
      const WaitForGrid wait{p > 0 && block == blockIdx.x};
      switch (phase.kind) {
        case RepeatDecodeGemvKind::NormMix: gemvBlockShaped<W, Prologue::LayerNorm, Epilogue::Mixing>(shape, phase.gemv, block, wait, shared); break;
        case RepeatDecodeGemvKind::Residual: gemvBlockShaped<W, Prologue::None, Epilogue::Residual>(shape, phase.gemv, block, wait, shared); break;
        case RepeatDecodeGemvKind::NormGelu: gemvBlockShaped<W, Prologue::LayerNorm, Epilogue::Gelu>(shape, phase.gemv, block, wait, shared); break;
        case RepeatDecodeGemvKind::Argmax: gemvBlockShaped<W, Prologue::None, Epilogue::Argmax>(shape, phase.gemv, block, wait, shared); break;
      }
    }
  }
  finishStep(phases[count - 1].gemv);  // every block: the last to arrive feeds the next token
}

// Whether this kernel may overlap its predecessor (programmatic dependent launch), unless MASKMIX_DECODE_PDL is
// 0, false, off or no (kept for measuring what it gains). Only where the code the GPU runs was compiled for sm_90 or newer: below that
// the waits above are compiled out (e.g. an sm_80-only build JIT-compiled from its PTX on a Hopper GPU), and an
// overlapped launch would read its predecessor's output too early.
template <typename Kernel>
bool overlapLaunch(Kernel kernel) {
  if (envSaysOff("MASKMIX_DECODE_PDL")) return false;  // read at each capture: a script can compare both
  cudaFuncAttributes attributes;
  if (cudaFuncGetAttributes(&attributes, kernel) != cudaSuccess) return false;
  return attributes.ptxVersion >= 90 && attributes.binaryVersion >= 90;
}

// Dynamic shared memory of a GEMV: the batch's input rows, then the LayerNorm weight and bias; for tensor-core
// products the rows as bf16 after them (without a LayerNorm, only these).
size_t sharedBytes(int64_t batch, int64_t inFeatures, bool layerNorm, bool fragments) {
  const size_t floats = fragments && !layerNorm ? 0 : static_cast<size_t>((batch + (layerNorm ? 2 : 0)) * inFeatures) * sizeof(float);
  return floats + (fragments ? static_cast<size_t>(batch * inFeatures) * 2 : 0);
}
// At most this much (opted into above 48 KiB): leaves room for two blocks per multiprocessor on sm_80 and sm_90, so
// the next kernel's blocks can start beside this one's.
constexpr size_t kMaxSharedBytes = 80 * 1024;

// An attribute of the current GPU; 0 where it cannot be read.
int deviceAttribute(cudaDeviceAttr attribute) {
  int device = 0, value = 0;
  if (cudaGetDevice(&device) != cudaSuccess || cudaDeviceGetAttribute(&value, attribute, device) != cudaSuccess) return 0;
  return value;
}

int multiprocessors() { return std::max(1, deviceAttribute(cudaDevAttrMultiProcessorCount)); }

template <typename Kernel>
void launchStepKernel(Kernel kernel, unsigned int blocks, unsigned int threads, size_t shared, cudaStream_t stream,
                      const RepeatDecodeGemv* g) {
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(blocks);
  config.blockDim = dim3(threads);
  config.dynamicSmemBytes = shared;
  config.stream = stream;
  cudaLaunchAttribute attributes[1];
  config.attrs = attributes;
  if (overlapLaunch(kernel)) {
    attributes[config.numAttrs].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attributes[config.numAttrs++].val.programmaticStreamSerializationAllowed = 1;
  }
  cudaLaunchKernelEx(&config, kernel, *g);
}

// What to do with the kernel that runs a GEMV: launch it on `stream`, or (footprint set) only note what one of its
// blocks takes on a multiprocessor.
struct GemvAction {
  cudaStream_t stream = nullptr;
  BlockFootprint* footprint = nullptr;
};

// Above 48 KiB of shared memory in all (the dynamic bytes plus the kernel's static BlockShared) a kernel must opt
// in: batch 3 of a 4096-wide input (a d1024 feed-forward layer) asks exactly 48 KiB of dynamic memory, which with
// the static part failed to launch ("invalid argument") unless an earlier launch had opted that kernel in. At
// capture only, and repeatDecodeGemvTakes checked the device allows it; false leaves the failure for lastError().
template <typename Kernel>
bool allowSharedBytes(Kernel kernel, size_t dynamicBytes, size_t staticBytes) {
  if (dynamicBytes + staticBytes <= 48 * 1024) return true;
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(dynamicBytes)) == cudaSuccess;
}

// The shapes (loads a lane, rows a warp) with a split kernel: the one source for kSplitCompiled and for
// repeatDecodeSplitRows on the host. V4R2 (d512's fp32 up-projection) has none.
constexpr bool splitShape(int V, int R) { return R == 1 || (V == 4 && R == 4); }

// The kernels with a split output (RepeatDecodeGemv::splitWeight) compiled: LayerNorm GEMVs whose epilogue makes
// the input of a matrix that follows (mixing, GELU), bf16 or float32 weights, in the shapes their kinds take.
template <typename W, Prologue P, Epilogue E, int V, int R>
constexpr bool kSplitCompiled = P == Prologue::LayerNorm && (E == Epilogue::Mixing || E == Epilogue::Gelu) &&
                                (std::is_same_v<W, __nv_bfloat16> || std::is_same_v<W, float>) && splitShape(V, R);

// A split-output GEMV's shared memory after sharedBytes: its columns of the second matrix, then its rows' outputs.
size_t splitSharedBytes(int64_t batch, int64_t rowsPerBlock, int64_t splitOut, size_t weightBytes) {
  return static_cast<size_t>(rowsPerBlock * splitOut) * weightBytes + static_cast<size_t>(batch * rowsPerBlock) * sizeof(float);
}

template <typename W, Prologue P, Epilogue E, int V, int R, int B>
void dispatchGemvForBatch(const RepeatDecodeGemv& g, const GemvAction& action) {
  const int64_t rowsPerBlock = (kThreads / 32) * R;
  const unsigned int blocks = static_cast<unsigned int>((g.outFeatures + rowsPerBlock - 1) / rowsPerBlock);
  size_t shared = sharedBytes(g.batch, g.inFeatures, P == Prologue::LayerNorm, std::is_same_v<W, Bf16Fragments>);
  // A timeline run (MASKMIX_DECODE_TIMELINE) launches the kernels compiled with its hooks; all others, none.
  auto kernel = g.timeline != nullptr ? gemvStepKernel<W, P, E, V, R, B, true> : gemvStepKernel<W, P, E, V, R, B, false>;
  if constexpr (kSplitCompiled<W, P, E, V, R>) {
    if (g.splitWeight != nullptr) {
      kernel = g.timeline != nullptr ? gemvStepKernel<W, P, E, V, R, B, true, true> : gemvStepKernel<W, P, E, V, R, B, false, true>;
      shared += splitSharedBytes(g.batch, rowsPerBlock, g.splitOut, sizeof(W));
    }
  } else if (g.splitWeight != nullptr) {
    return;  // never: the host builds split GEMVs only where repeatDecodeSplitRows found a kernel for them
  }
  cudaFuncAttributes attributes;
  if (cudaFuncGetAttributes(&attributes, kernel) != cudaSuccess) return;  // left for lastError()
  if (action.footprint != nullptr) {
    *action.footprint = {attributes.numRegs, kThreads, attributes.sharedSizeBytes + shared};
    return;
  }
  if (!allowSharedBytes(kernel, shared, attributes.sharedSizeBytes)) return;
  launchStepKernel(kernel, blocks, kThreads, shared, action.stream, &g);
}

// Batches 1 and 2 run kernels compiled for that many rows (unless MASKMIX_DECODE_BATCH_KERNELS is 0, kept for
// measuring them): at batch 1 about half the code of the kernels compiled for kMaxDecodeBatch rows. The code after
// a kernel's wait is on the token's critical path, and (our reading of the gain) its instructions come from memory
// again each time the kernel runs, the step's weights streaming through the L2 in between. On an H100 this took the
// d1024 L8 step from 179 to 134 µs a token at batch 1, and from 245 to 201 µs at batch 2.
template <typename W, Prologue P, Epilogue E, int V, int R>
void dispatchGemv(const RepeatDecodeGemv& g, const GemvAction& action) {
  const bool sized = !envSaysOff("MASKMIX_DECODE_BATCH_KERNELS");
  if (sized && g.batch == 1) return dispatchGemvForBatch<W, P, E, V, R, 1>(g, action);
  if (sized && g.batch == 2) return dispatchGemvForBatch<W, P, E, V, R, 2>(g, action);
  dispatchGemvForBatch<W, P, E, V, R, kMaxDecodeBatch>(g, action);
}

// The shape of one kernel per GEMV: long rows (d4096 inputs) one row a warp, 16 loads per lane; the square mixing
// GEMV (d × d: few rows) one row a warp; other short rows as many rows per warp as keep the grid at least ~one block
// per multiprocessor.
Shape kernelShape(RepeatDecodeGemvKind kind, const RepeatDecodeGemv& g, int width) {
  if (g.inFeatures / width > 32 * 4) return Shape::V16R1;
  if (kind == RepeatDecodeGemvKind::NormMix) return Shape::V4R1;
  const int64_t sms = multiprocessors();
  if (g.outFeatures >= 32 * sms * 9 / 10) return Shape::V4R4;
  if (g.outFeatures >= 16 * sms * 9 / 10) return Shape::V4R2;
  return Shape::V4R1;
}

template <typename W, Prologue P, Epilogue E>
void dispatchGemvShaped(const RepeatDecodeGemv& g, Shape shape, const GemvAction& action) {
  switch (shape) {
    case Shape::V16R1: return dispatchGemv<W, P, E, 16, 1>(g, action);
    case Shape::V4R1: return dispatchGemv<W, P, E, 4, 1>(g, action);
    case Shape::V4R2:
      if constexpr (E != Epilogue::Mixing) return dispatchGemv<W, P, E, 4, 2>(g, action);
      break;
    case Shape::V4R4:
      if constexpr (E != Epilogue::Mixing) return dispatchGemv<W, P, E, 4, 4>(g, action);
      break;
  }
}

template <typename W>
void dispatchGemvFor(RepeatDecodeGemvKind kind, const RepeatDecodeGemv& g, const GemvAction& action) {
  const Shape shape = kernelShape(kind, g, WeightVector<W>::kWidth);
  switch (kind) {
    case RepeatDecodeGemvKind::NormMix: return dispatchGemvShaped<W, Prologue::LayerNorm, Epilogue::Mixing>(g, shape, action);
    case RepeatDecodeGemvKind::Residual: return dispatchGemvShaped<W, Prologue::None, Epilogue::Residual>(g, shape, action);
    case RepeatDecodeGemvKind::NormGelu: return dispatchGemvShaped<W, Prologue::LayerNorm, Epilogue::Gelu>(g, shape, action);
    case RepeatDecodeGemvKind::Argmax: return dispatchGemvShaped<W, Prologue::None, Epilogue::Argmax>(g, shape, action);
  }
}

// A shape's template arguments: vectors a lane loads (V) and rows a warp covers (R); and the rows a block covers.
int vectorsPerLane(Shape shape) { return shape == Shape::V16R1 ? 16 : 4; }
int rowsPerWarp(Shape shape) { return shape == Shape::V4R4 ? 4 : shape == Shape::V4R2 ? 2 : 1; }
int64_t rowsPerBlock(Shape shape) { return (kThreads / 32) * rowsPerWarp(shape); }

template <typename W>
bool planPersistentFor(RepeatDecodePhase* phases, int count, unsigned int& grid, size_t& shared) {
  shared = 0;
  for (int p = 0; p < count; ++p) {
    const RepeatDecodeGemv& g = phases[p].gemv;
    const bool layerNorm = phases[p].kind == RepeatDecodeGemvKind::NormMix || phases[p].kind == RepeatDecodeGemvKind::NormGelu;
    shared = std::max(shared, sharedBytes(g.batch, g.inFeatures, layerNorm, false));
  }
  auto kernel = persistentStepKernel<W>;
  int perMultiprocessor = 0;
  if (deviceAttribute(cudaDevAttrCooperativeLaunch) == 0) return false;
  cudaFuncAttributes attributes;
  if (cudaFuncGetAttributes(&attributes, kernel) != cudaSuccess || !allowSharedBytes(kernel, shared, attributes.sharedSizeBytes)) return false;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perMultiprocessor, kernel, kThreads, shared) != cudaSuccess || perMultiprocessor < 1) return false;
  grid = static_cast<unsigned int>(perMultiprocessor * multiprocessors());
  // Every block of a phase starts at once (their weight loads before the barrier): the fewest rows per warp whose
  // blocks fit in the grid; a matrix too large even at four rows a warp takes several rounds.
  for (int p = 0; p < count; ++p) {
    RepeatDecodePhase& phase = phases[p];
    phase.gemv.launchNextOnEntry = false;  // one kernel: nothing to launch
    const int width = WeightVector<W>::kWidth;
    Shape shape = Shape::V4R4;
    if (phase.gemv.inFeatures / width > 32 * 4) {
      shape = Shape::V16R1;
    } else if (phase.kind == RepeatDecodeGemvKind::NormMix) {
      shape = Shape::V4R1;
    } else {
      for (Shape s : {Shape::V4R1, Shape::V4R2, Shape::V4R4})
        if ((phase.gemv.outFeatures + rowsPerBlock(s) - 1) / rowsPerBlock(s) <= grid) {
          shape = s;
          break;
        }
    }
    phase.shape = static_cast<int>(shape);
    phase.blocks = static_cast<unsigned int>((phase.gemv.outFeatures + rowsPerBlock(shape) - 1) / rowsPerBlock(shape));
  }
  return true;
}

template <typename W>
void launchPersistentFor(const RepeatDecodePhase* devicePhases, int count, unsigned int grid, size_t shared, cudaStream_t stream) {
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(grid);
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = shared;
  config.stream = stream;
  cudaLaunchAttribute cooperative[1];
  cooperative[0].id = cudaLaunchAttributeCooperative;  // all blocks resident at once, or the launch fails (no deadlock)
  cooperative[0].val.cooperative = 1;
  config.attrs = cooperative;
  config.numAttrs = 1;
  cudaLaunchKernelEx(&config, persistentStepKernel<W>, devicePhases, count);
}

int vectorWidth(DecodeWeights weights) {
  switch (weights) {
    case DecodeWeights::BFloat16: return WeightVector<__nv_bfloat16>::kWidth;
    case DecodeWeights::BFloat16Fragments: return WeightVector<Bf16Fragments>::kWidth;
    case DecodeWeights::Int8: return WeightVector<int8_t>::kWidth;
    case DecodeWeights::Float32: break;
  }
  return WeightVector<float>::kWidth;
}
// A GEMV's kernel for the weight type it reads: launched, or its footprint noted.
void forWeights(DecodeWeights weights, RepeatDecodeGemvKind kind, const RepeatDecodeGemv& g, const GemvAction& action) {
  switch (weights) {
    case DecodeWeights::BFloat16: return dispatchGemvFor<__nv_bfloat16>(kind, g, action);
    case DecodeWeights::BFloat16Fragments: return dispatchGemvFor<Bf16Fragments>(kind, g, action);
    case DecodeWeights::Int8: return dispatchGemvFor<int8_t>(kind, g, action);
    case DecodeWeights::Float32: return dispatchGemvFor<float>(kind, g, action);
  }
}
}  // namespace

bool repeatDecodeGemvTakes(int64_t batch, int64_t inFeatures, DecodeWeights weights, bool layerNorm) {
  const bool fragments = weights == DecodeWeights::BFloat16Fragments;
  const int width = fragments ? 256 : vectorWidth(weights);  // whole tiles of decode/fragment_order.h
  const size_t shared = sharedBytes(batch, inFeatures, layerNorm, fragments);
  if (batch < 1 || batch > kMaxDecodeBatch || inFeatures % width != 0 || shared > kMaxSharedBytes) return false;
  // what this GPU lets a block opt into (A100 163 KiB, H100 227 KiB); mma.sync on bf16: sm_80 and newer
  return shared <= static_cast<size_t>(deviceAttribute(cudaDevAttrMaxSharedMemoryPerBlockOptin)) &&
         (!fragments || deviceAttribute(cudaDevAttrComputeCapabilityMajor) >= 8);
}

// The persistent kernel is built for float32 and bf16 weights only (an opt-in measured slower; see persistentRequested).
bool planRepeatDecodePersistent(RepeatDecodePhase* phases, int count, DecodeWeights weights, unsigned int& grid, size_t& shared) {
  if (count < 1 || weights == DecodeWeights::Int8 || weights == DecodeWeights::BFloat16Fragments) return false;
  return weights == DecodeWeights::BFloat16 ? planPersistentFor<__nv_bfloat16>(phases, count, grid, shared) : planPersistentFor<float>(phases, count, grid, shared);
}

void repeatDecodePersistent(const RepeatDecodePhase* devicePhases, int count, unsigned int grid, size_t shared, DecodeWeights weights, cudaStream_t stream) {
  if (weights == DecodeWeights::BFloat16) {
    launchPersistentFor<__nv_bfloat16>(devicePhases, count, grid, shared, stream);
  } else if (weights == DecodeWeights::Float32) {
    launchPersistentFor<float>(devicePhases, count, grid, shared, stream);
  }
}

unsigned int repeatDecodeGemvBlocks(RepeatDecodeGemvKind kind, const RepeatDecodeGemv& g, DecodeWeights weights) {
  const int64_t rows = rowsPerBlock(kernelShape(kind, g, vectorWidth(weights)));
  return static_cast<unsigned int>((g.outFeatures + rows - 1) / rows);
}

int64_t repeatDecodeSplitRows(RepeatDecodeGemvKind kind, const RepeatDecodeGemv& g, DecodeWeights weights) {
  if (kind != RepeatDecodeGemvKind::NormMix && kind != RepeatDecodeGemvKind::NormGelu) return 0;
  if (weights != DecodeWeights::BFloat16 && weights != DecodeWeights::Float32) return 0;
  const Shape shape = kernelShape(kind, g, vectorWidth(weights));
  if (!splitShape(vectorsPerLane(shape), rowsPerWarp(shape))) return 0;  // no kernel compiled (kSplitCompiled)
  const int64_t rows = rowsPerBlock(shape);
  if (g.outFeatures % rows != 0 || g.splitOut < 1 || g.batch < 1 || g.batch > kMaxDecodeBatch) return 0;
  const size_t weightBytes = 16 / vectorWidth(weights);  // a 16-byte weight vector's values: bf16 2 bytes, float32 4
  const size_t shared = sharedBytes(g.batch, g.inFeatures, true, false) + splitSharedBytes(g.batch, rows, g.splitOut, weightBytes) + sizeof(BlockShared);
  return shared <= static_cast<size_t>(deviceAttribute(cudaDevAttrMaxSharedMemoryPerBlockOptin)) ? rows : 0;
}

BlockFootprint repeatDecodeGemvFootprint(RepeatDecodeGemvKind kind, const RepeatDecodeGemv& g, DecodeWeights weights) {
  BlockFootprint footprint;
  GemvAction action;
  action.footprint = &footprint;
  forWeights(weights, kind, g, action);
  return footprint;
}

bool blocksFitOnOneMultiprocessor(const BlockFootprint* blocks, int count) {
  // unreadable attributes read as 0: then nothing fits
  const int registers = deviceAttribute(cudaDevAttrMaxRegistersPerMultiprocessor), shared = deviceAttribute(cudaDevAttrMaxSharedMemoryPerMultiprocessor),
            threads = deviceAttribute(cudaDevAttrMaxThreadsPerMultiProcessor);
  int64_t usedRegisters = 0, usedShared = 0, usedThreads = 0;
  for (int i = 0; i < count; ++i) {
    if (blocks[i].registers <= 0) return false;  // unknown
    // A warp's registers are allocated in units of 256 (sm_70 to sm_90); each block also reserves 1 KiB of shared memory.
    const int warpRegisters = (blocks[i].registers * 32 + 255) / 256 * 256;
    usedRegisters += static_cast<int64_t>(warpRegisters) * ((blocks[i].threads + 31) / 32);
    usedShared += static_cast<int64_t>(blocks[i].shared) + 1024;
    usedThreads += blocks[i].threads;
  }
  return usedRegisters <= registers && usedShared <= shared && usedThreads <= threads;
}

void repeatDecodeGemv(RepeatDecodeGemvKind kind, const RepeatDecodeGemv& g, DecodeWeights weights, cudaStream_t stream) {
  forWeights(weights, kind, g, GemvAction{stream});
}

}  // namespace maskmix::kernels
