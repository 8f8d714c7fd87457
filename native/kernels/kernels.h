// Launchers of maskmix's own CUDA kernels. This header and the .cu files depend on the CUDA runtime only (no
// libtorch), so nvcc compiles them quickly and identically against any libtorch; the C++ ops pass raw pointers
// and the current stream. Declared only in CUDA builds.
#pragma once

#ifdef MASKMIX_WITH_CUDA
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/decode_weights.h"

namespace maskmix::kernels {

enum class DType { Float32, BFloat16 };

// out = silu(gate) · up, elementwise, n elements.
void swigluForward(const void* gate, const void* up, void* out, int64_t n, DType dtype, cudaStream_t stream);
// d/d(gate, up) of silu(gate) · up given d/d(out); with product (may be null), silu(gate) · up again in the same pass.
void swigluBackward(const void* gradOut, const void* gate, const void* up, void* gradGate, void* gradUp, void* product, int64_t n,
                    DType dtype, cudaStream_t stream);

// y = x · rsqrt(mean(x²) + eps) · w per row of width d; x and w float32, y in `outDtype`, rstd [rows] float32.
// With delta (null for none; in deltaDtype): the row normalised is x + delta, and that sum is written to sum
// (float32, [rows, d]).
void rmsNormForward(const float* x, const void* delta, DType deltaDtype, float* sum, const float* w, void* y, float* rstd, int64_t rows,
                    int64_t d, float eps, DType outDtype, cudaStream_t stream);
// The norm backward kernels (RMSNorm and LayerNorm share one) write the weight gradient as one partial row per block,
// [blocks, d] float32, for the caller to sum over blocks; this says how many blocks (rows of partials) a launch uses.
int normBackwardBlocks(int64_t rows);

// out [cols] = Σ over rows of partial [rows, cols] (float32): the sum of a backward kernel's per-block partials.
void sumPartialRows(const float* partial, float* out, int64_t rows, int64_t cols, cudaStream_t stream);
// Partial column sums of x [rows, cols] (bf16 or float32, cols % 8 == 0, 16-byte aligned): partial
// [columnSumPartialRows(rows), cols], to be summed by sumPartialRows.
int columnSumPartialRows(int64_t rows);
void columnSumPartials(const void* x, DType dtype, float* partial, int64_t rows, int64_t cols, cudaStream_t stream);

// gx [rows, d] float32 = d/dx + residualGrad (float32, may be null); gxCopy (may be null) gets gx again in
// copyDtype; partialW [normBackwardBlocks(rows), d]. `saved` is the float32 input x, or, fromOutput, the
// forward's output y in gradDtype: x̂ = y/w.
void rmsNormBackward(const void* gradY, DType gradDtype, const void* saved, bool fromOutput, const float* w, const float* rstd,
                     const float* residualGrad, float* gx, void* gxCopy, DType copyDtype, float* partialW, int64_t rows, int64_t d,
                     cudaStream_t stream);

// Rotary positions on x [batch, positions, heads, headDim] (contiguous), pairs (i, i + headDim/2) rotated by the
// angle whose cos/sin tables are [positions, headDim]; inverse rotates back (the backward pass).
void rotary(const void* x, void* out, const float* cos, const float* sin, int64_t batch, int64_t positions, int64_t heads,
            int64_t headDim, bool inverse, DType dtype, cudaStream_t stream);

// LayerNorm forward: y = (x − mean)·rstd·w + b in `outDtype`; mean and rstd [rows] (either may be null). With delta
// (null for none; in deltaDtype) the row normalised is x + delta, and that sum is written to sum (float32).
void layerNormForward(const float* x, const void* delta, DType deltaDtype, float* sum, const float* w, const float* b, void* y, float* mean,
                      float* rstd, int64_t rows, int64_t d, float eps, DType outDtype, cudaStream_t stream);
// LayerNorm backward: gx = d/dx + residualGrad (residualGrad may be null); gxCopy (may be null) gets gx again in
// copyDtype; partialW, partialB [normBackwardBlocks(rows), d]. `saved` is the float32 input x (with mean and
// rstd), or, fromOutput, the forward's output y in gradDtype (with rstd; mean unused): x̂ = (y − b)/w.
void layerNormBackward(const void* gradY, DType gradDtype, const void* saved, bool fromOutput, const float* mean, const float* rstd,
                       const float* w, const float* b, const float* residualGrad, float* gx, void* gxCopy, DType copyDtype,
                       float* partialW, float* partialB, int64_t rows, int64_t d, cudaStream_t stream);

// Cross-entropy over logit rows [rows, vocab] (vocab % 8 == 0, 16-byte aligned), in place: adds Σ over counted
// rows of (logsumexp − logit[target]) to *lossSum and, with writeGrad, overwrites the logits with
// (softmax − onehot) · *scale (0 for rows whose target is ignoreIndex).
void crossEntropyRows(void* logits, const int64_t* targets, int64_t ignoreIndex, const float* scale, float* lossSum, int64_t rows,
                      int64_t vocab, bool writeGrad, DType dtype, cudaStream_t stream);

// GELU's backward in one pass (kernels/gelu_backward.cu): act = GELU(pre), gradPre = GELU'(pre)·gradAct, and
// partialBias [geluBackwardRowBlocks(rows), cols] column sums of gradPre. cols % 8 == 0, 16-byte aligned rows.
int geluBackwardRowBlocks(int64_t rows);
void geluBackward(const void* pre, const void* gradAct, void* act, void* gradPre, float* partialBias, int64_t rows, int64_t cols, DType dtype,
                  cudaStream_t stream);

// AdamW over up to kAdamWTensors float32 tensors in one launch (kernels/adamw.cu), PyTorch's fused arithmetic. The
// tensors travel in the kernel's parameters (nothing to upload, so a CUDA graph can capture it), each cut into
// chunks of kAdamWChunk elements, one block each. copy (may be null) gets the updated weight in bf16. step: the
// tensor's step count, already advanced. lr, skip and gradDivisor are device scalars (lr null: lrValue; skip
// non-zero: no update; gradDivisor null: 1, else the gradients are divided and keep the result).
constexpr int kAdamWTensors = 40;
constexpr int64_t kAdamWChunk = 32768;
struct AdamWTensor {
  float *param = nullptr, *grad = nullptr, *avg = nullptr, *avgSq = nullptr;
  const float* step = nullptr;
  void* copy = nullptr;
  int64_t numel = 0;
};
struct AdamWHyper {
  const float* lr = nullptr;
  float lrValue = 0.f;
  const float* skip = nullptr;
  const float* gradDivisor = nullptr;
  float beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-8f, weightDecay = 0.f;
};
struct AdamWBatch {
  AdamWTensor tensors[kAdamWTensors];
  int count = 0;
};
void adamW(const AdamWBatch& batch, const AdamWHyper& hyper, cudaStream_t stream);

// Whether p is 16-byte aligned, as the kernels' vector accesses need (allocations are; views at odd offsets may not be).
inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }
// Whether the row kernels (RMSNorm, LayerNorm) take width d: d % 8 == 0 and d ≤ 1024.
bool rowKernelsTake(int64_t d);
// Whether the elementwise kernels take n elements at these addresses: n % 8 == 0 and 16-byte alignment.
bool elementwiseTakes(int64_t n, const void* a, const void* b, const void* c);

// One greedy decoding step of a column/row/mixed repeat mixer at batch ≤ kMaxDecodeBatch (kernels/repeat_decode.cu):
// GEMVs whose prologue/epilogue carry the step's elementwise work. All activations are float32; weights are
// [outFeatures, inFeatures] row-major in one of the formats of DecodeWeights (kernels/decode_weights.h).
constexpr int kMaxDecodeBatch = 4;
enum class RepeatDecodeGemvKind {
  NormMix,   // LayerNorm(input) → in_proj → the recurrent mixing update (running sums in place) → output
  Residual,  // input → Linear → added into output (the residual stream) in place
  NormGelu,  // LayerNorm(input) → Linear → GELU → output
  Argmax,    // input → Linear (no bias) → argmax over the vocabulary → the next token (see the struct)
};
constexpr int kTimelineMarks = 5;
struct RepeatDecodeGemv {
  const void* weight = nullptr;
  const float* weightScales = nullptr;  // int8 weights: the float32 scale of each output row, [outFeatures]
  const float* bias = nullptr;  // [outFeatures] or null
  int64_t inFeatures = 0, outFeatures = 0, batch = 1;
  const float* input = nullptr;
  int64_t inputStride = 0;                  // floats between batch rows
  const int64_t* inputTokens = nullptr;     // set: input row b is input + inputTokens[b]·inputStride (an embedding lookup)
  float* output = nullptr;
  int64_t outputStride = 0;
  // Residual epilogue: output[b] = residual row b + the product; residual null: output itself (added in place)
  const float* residual = nullptr;
  int64_t residualStride = 0;
  const int64_t* residualTokens = nullptr;  // set: residual row b is residual + residualTokens[b]·residualStride
  // LayerNorm prologue
  const float* normWeight = nullptr;
  const float* normBias = nullptr;
  float normEps = 1e-5f;
  // Mixing epilogue: heads of outFeatures/heads channels; heads < columnHeads are column-repeat, the rest row-repeat
  int64_t heads = 1, columnHeads = 1, context = 0;
  const float* positionWeight = nullptr;  // [heads, context]
  const float* positionBias = nullptr;    // [heads, context]
  const float* decay = nullptr;           // [heads]
  float decayMin = 0.9f, decayMax = 1.f, decayConstant = 1.f;
  float* sums = nullptr;                  // [heads, batch·dh]
  const int64_t* position = nullptr;      // device scalar
  // Argmax epilogue: keys per batch row, then the last block to finish feeds the argmax as the next token, records it
  // in history[b, position] (when position < context), moves the position on and clears the keys and the counter.
  unsigned long long* argmax = nullptr;   // [batch], zero before the first step
  unsigned int* blocksDone = nullptr;     // device counter, zero before the first step
  int64_t* nextTokens = nullptr;          // [batch]
  int64_t* history = nullptr;             // [batch, context]
  int64_t* stepPosition = nullptr;        // device scalar
  // Flag hand-over (kernels launched one per GEMV): instead of waiting for the whole previous kernel to end
  // (griddepcontrol.wait), a block waits until the previous GEMV's `previousFinished` counter reaches
  // previousBlocks·(steps + 1), and counts itself in `finished` once its outputs are written. The counters only
  // grow (uint32, compared modulo 2³²); `steps` counts finished steps and is moved on by the Argmax kernel's last
  // block. previousFinished null: wait for the previous kernel to end (the step's first GEMV, after the head).
  unsigned int* finished = nullptr;
  const unsigned int* previousFinished = nullptr;
  unsigned int previousBlocks = 0;
  unsigned int* steps = nullptr;
  // Timeline (MASKMIX_DECODE_TIMELINE, for profiling the overlapped launches): thread 0 of each block writes the
  // %globaltimer at its entry, when its wait returned, once its input is staged (and normalised), once its warp's
  // products are summed, and at its exit, to timeline[(slot·timelineStride + block)·kTimelineMarks + 0…4],
  // slot = the step's position (read after the wait) modulo timelineSlots. Null: nothing recorded.
  unsigned long long* timeline = nullptr;
  const int64_t* timelinePosition = nullptr;
  int64_t timelineStride = 0, timelineSlots = 1;
  // The weight loads ask the L2 to evict their lines first (the decode step sets it from
  // MASKMIX_DECODE_WEIGHTS_EVICT_FIRST at capture; 0: normal eviction, kept for comparison).
  bool weightsEvictFirst = true;
  // Let the next kernel start as soon as this one's weight loads are issued, not after its wait (the decode step
  // chooses where: FusedRepeatStepImpl::launchEarly; never for a step's first GEMV).
  bool launchNextOnEntry = false;
  // LayerNorm parameters loaded into registers before the weights, where the kernel was compiled for it (the
  // LayerNorm → mixing kernel at batch 1) and d/4 divides the block's 256 threads (d a power of two up to 1024);
  // the decode step sets it unless MASKMIX_DECODE_NORM_FIRST=0.
  bool normParametersFirst = true;
  // Split output projection (a LayerNorm GEMV with the Mixing or GELU epilogue; see repeatDecodeSplitRows): the
  // block's output rows are not written but kept in shared memory and multiplied by the block's columns of the
  // matrix that follows them (the mixing's output projection, the down-projection); every block adds those partial
  // products into splitOutput with atomics, and the block owning an output also adds its residual (the input row
  // before the LayerNorm) and bias. A layer is then two kernels instead of four. splitWeight holds the second
  // matrix [splitOut, outFeatures] as [blocks, rowsPerBlock/8, splitOut, 8] in the weight type (decode/decode_matrix.h).
  const void* splitWeight = nullptr;
  const float* splitBias = nullptr;  // [splitOut] or null
  int64_t splitOut = 0;              // = inFeatures (the residual stream's width)
  float* splitOutput = nullptr;      // [batch, splitOut], all zero when the kernel starts
  // Four outputs a thread, added with 16-byte atomics (sm_90; splitOut % 4 == 0), splitWeight then laid out as
  // [blocks, rowsPerBlock/8, 4, splitOut/4, 8] (see splitProducts in kernels/repeat_decode.cu).
  bool splitVector = false;
  // Split-output and Argmax GEMVs: set to zero after the wait, each block its share (a buffer that a later kernel of
  // the step adds into; see FusedRepeatStep). Null: nothing.
  float* clear = nullptr;
  int64_t clearFloats = 0;
};
// One GEMV of the step as a phase of the persistent kernel; shape and blocks are filled in by the plan.
struct RepeatDecodePhase {
  RepeatDecodeGemvKind kind = RepeatDecodeGemvKind::Residual;
  int shape = 0;
  unsigned int blocks = 0;
  RepeatDecodeGemv gemv;
};
// The whole step as one cooperative kernel whose grid synchronises between the GEMVs (the last phase an Argmax):
// plans each phase's block shape and the grid (every block resident) and its shared memory; false when the GPU cannot
// (no cooperative launch, no room for a block; int8 weights, which it was not built for). Then launch with the phases copied to the device (capturable).
bool planRepeatDecodePersistent(RepeatDecodePhase* phases, int count, DecodeWeights weights, unsigned int& grid, size_t& shared);
void repeatDecodePersistent(const RepeatDecodePhase* devicePhases, int count, unsigned int grid, size_t shared, DecodeWeights weights, cudaStream_t stream);
// Whether the GEMVs take this batch and input width (vector width, shared memory), with or without a LayerNorm prologue.
bool repeatDecodeGemvTakes(int64_t batch, int64_t inFeatures, DecodeWeights weights, bool layerNorm);
void repeatDecodeGemv(RepeatDecodeGemvKind kind, const RepeatDecodeGemv& g, DecodeWeights weights, cudaStream_t stream);
// What one block of the kernel repeatDecodeGemv launches for this GEMV takes on a multiprocessor (registers per
// thread 0: unknown), and whether blocks of these footprints can be resident on one multiprocessor at once.
struct BlockFootprint {
  int registers = 0;
  int threads = 0;
  size_t shared = 0;
};
BlockFootprint repeatDecodeGemvFootprint(RepeatDecodeGemvKind kind, const RepeatDecodeGemv& g, DecodeWeights weights);
bool blocksFitOnOneMultiprocessor(const BlockFootprint* blocks, int count);
// The blocks repeatDecodeGemv launches for this GEMV (what a flag hand-over waits for).
unsigned int repeatDecodeGemvBlocks(RepeatDecodeGemvKind kind, const RepeatDecodeGemv& g, DecodeWeights weights);
// The output rows per block of a split-output GEMV (RepeatDecodeGemv::splitWeight) of this kind, shape and weight
// format: how the host lays out splitWeight. 0 where the kernels have no split form for it (int8 or tensor-core
// weights, a kind other than NormMix and NormGelu, rows that are not whole blocks, or too little shared memory).
int64_t repeatDecodeSplitRows(RepeatDecodeGemvKind kind, const RepeatDecodeGemv& g, DecodeWeights weights);

// The last launch's error, as text; empty when none.
const char* lastError();

}  // namespace maskmix::kernels
#endif
