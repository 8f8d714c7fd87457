// The greedy step of a column/row/mixed repeat mixer at small batch (≤ 4, and batch·4·d·4 B ≤ 80 KiB for the
// feed-forward input: batch 4 at d1024) as maskmix's own kernels (kernels/repeat_decode.cu): four GEMV kernels per
// layer with the elementwise work in their prologues and epilogues (the first layer reads the embedding rows of the
// fed tokens itself), and the output projection with a fused argmax whose last block feeds the next token:
// 4·L + 1 launches per token where libtorch's modules take ~20 per layer. On Hopper they overlap (programmatic
// dependent launch: each kernel fetches its weights while its predecessor runs; MASKMIX_DECODE_PDL=0 turns it off),
// and, opt-in (MASKMIX_DECODE_HANDOVER=flags), each kernel after a step's first starts when its predecessor's
// blocks have counted themselves finished instead of when that grid retires. GraphedGreedyStep captures it in its
// CUDA graph in place of the generic step when the model qualifies, unless MASKMIX_FUSED_DECODE=0 is set (the
// generic graph, for comparison), and can chain several steps per replay (MASKMIX_DECODE_STEPS_PER_GRAPH). Their
// check is scripts/gpu/check-graphed-decoding.mjs (float32 greedy tokens equal to the step loop's and the generic
// graph's); the flag hand-over and the chained steps pass it but measured no faster, hence opt-in.
#pragma once

#include <ATen/ATen.h>

#include <memory>

#include "decode/mixing_state.h"
#include "kernels/decode_weights.h"
#include "models/language_model.h"

namespace maskmix {

class FusedRepeatStep {
 public:
  // A step for this model and these states at `batch`, or null when they do not qualify (another kind or
  // structure, a batch or width the kernels do not take, float64 weights, a CPU build). `weights`: what the kernels
  // read as the matrices (kernels/decode_weights.h): Float32 (the parameters themselves), BFloat16 or Int8 (copies
  // made here; BFloat16 becomes BFloat16Fragments where MASKMIX_DECODE_TENSOR_CORES=1 asks for it). tokens
  // [batch, 1] and position [1] (int64) are what the step reads and advances; history [batch, context] gets each
  // chosen token.
  static std::unique_ptr<FusedRepeatStep> tryBuild(LanguageModel& model, MixingStates& states, int64_t batch, kernels::DecodeWeights weights,
                                                   const at::Tensor& tokens, const at::Tensor& position, const at::Tensor& history);
  virtual ~FusedRepeatStep() = default;
  // Queues one step on the current CUDA stream (capturable).
  virtual void launch() = 0;
  // Whether its bf16 products run on tensor cores (MASKMIX_DECODE_TENSOR_CORES; kernels.h BFloat16Fragments).
  virtual bool tensorCores() const = 0;
};

}  // namespace maskmix
