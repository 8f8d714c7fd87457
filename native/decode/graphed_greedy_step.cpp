#include "decode/graphed_greedy_step.h"

#include "common/env_setting.h"
#include "common/error.h"
#include "decode/fused_repeat_step.h"
#include "decode/held_position_step.h"

#ifdef MASKMIX_WITH_CUDA
#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/nn/modules/linear.h>

#include "common/cuda_graph_capture.h"
#include "common/torch_compat.h"
#endif

namespace maskmix {

#ifdef MASKMIX_WITH_CUDA

namespace {

std::vector<int64_t> parameterVersions(LanguageModel& model) {
  std::vector<int64_t> versions;
  for (const auto& p : model.parameters()) versions.push_back(static_cast<int64_t>(p._version()));
  return versions;
}

// Turns autocast's cast cache off while capturing: a cached cast made outside the graph would be read by every
// replay after the cache (and the tensor) is gone.
class AutocastCacheOff {
 public:
  AutocastCacheOff() : previous_(at::autocast::is_autocast_cache_enabled()) { at::autocast::set_autocast_cache_enabled(false); }
  ~AutocastCacheOff() { at::autocast::set_autocast_cache_enabled(previous_); }

 private:
  bool previous_;
};

// How many fused steps one replay of the longer graph runs (MASKMIX_DECODE_STEPS_PER_GRAPH, 1 … 64; default 1): a
// graph's first kernel cannot overlap the previous replay's last, so chaining steps inside one graph removes that gap
// from all but one step in K. The kernels feed each other on the device, so K steps need nothing from the host. On
// an H100 8 steps saved 3–5 µs a token at batch 1 but lost 6–58 µs at batch 2 and 4, hence the default.
int64_t fusedStepsPerReplay() {
  return envInt("MASKMIX_DECODE_STEPS_PER_GRAPH", 1, 1, 64);
}

}  // namespace

struct GraphedGreedyStep::Impl {
  at::cuda::CUDAGraph graph;
  at::cuda::CUDAGraph chain;     // fused only: stepsPerReplay steps in one graph
  int64_t stepsPerReplay = 1;
  c10::optional<at::cuda::CUDAStream> stream;
  at::Tensor tokens;    // [batch, 1] the token fed to the next replay
  at::Tensor position;  // [1] its position
  at::Tensor history;   // [batch, context] history[:, p] = the argmax after feeding position p
  std::vector<at::Tensor> weightCopies;  // bf16 Linear weights the graph reads
  std::vector<int64_t> versions;
  int64_t batch = 0;
  bool autocast = false;
  std::unique_ptr<FusedRepeatStep> fused;  // set when the step runs as maskmix's own kernels
  bool int8Weights = false;                // those kernels read int8 weights

  // One step on the current stream, reading and writing only the static buffers and the states.
  void body(LanguageModel& model, CachedDecoding& decoding, MixingStates& states) {
    greedyStepAtHeldPosition(model, decoding, states, tokens, position, history);
  }
};

GraphedGreedyStep::GraphedGreedyStep(LanguageModel& model, CachedDecoding& decoding, MixingStates& states, int64_t batch, bool autocast,
                                     bool int8Weights)
    : impl_(std::make_unique<Impl>()) {
  Impl& g = *impl_;
  const at::Device device = model.outputWeight().device();
  require(device.is_cuda(), "graphed decoding needs a CUDA model", "INTERNAL");
  c10::cuda::CUDAGuard deviceGuard(device);
  auto longs = at::TensorOptions().dtype(at::kLong).device(device);
  g.batch = batch;
  g.autocast = autocast;
  g.tokens = at::zeros({batch, 1}, longs);
  g.position = at::zeros({1}, longs);
  g.history = at::zeros({batch, model.config().context}, longs);
  g.stream = at::cuda::getStreamFromPool(false, device.index());

  using kernels::DecodeWeights;
  const DecodeWeights weights = int8Weights ? DecodeWeights::Int8 : autocast ? DecodeWeights::BFloat16 : DecodeWeights::Float32;
  g.fused = FusedRepeatStep::tryBuild(model, states, batch, weights, g.tokens, g.position, g.history);
  g.int8Weights = g.fused != nullptr && int8Weights;
  if (g.fused) {
    // Plain kernel launches with no lazy set-up: captured directly, no warm-up and no weight swaps.
    at::cuda::CUDAStream previous = at::cuda::getCurrentCUDAStream(device.index());
    c10::cuda::CUDAStreamGuard streamGuard(*g.stream);
    previous.synchronize();
    beginThreadLocalCapture(g.graph);
    g.fused->launch();
    g.graph.capture_end();
    g.stepsPerReplay = fusedStepsPerReplay();
    if (g.stepsPerReplay > 1) {
      beginThreadLocalCapture(g.chain);
      for (int64_t i = 0; i < g.stepsPerReplay; ++i) g.fused->launch();
      g.chain.capture_end();
    }
    g.versions = parameterVersions(model);
    return;
  }

  // The Linear layers read bf16 copies while the graph is captured; the fp32 weights go back afterwards.
  struct Swap {
    at::Tensor parameter, original;
  };
  std::vector<Swap> swaps;
  if (autocast) {
    torch::NoGradGuard noGrad;
    for (const auto& module : model.modules(/*include_self=*/false)) {
      auto* linear = module->as<torch::nn::Linear>();
      if (linear == nullptr) continue;
      for (at::Tensor* p : {&linear->weight, &linear->bias}) {
        if (!p->defined() || p->scalar_type() != at::kFloat) continue;
        at::Tensor copy = p->detach().to(at::kBFloat16);
        swaps.push_back({*p, p->data()});
        g.weightCopies.push_back(copy);
        p->set_data(copy);
      }
    }
  }
  try {
    c10::InferenceMode inference;
    compat::CudaAutocast autocastGuard(autocast, at::kBFloat16);
    AutocastCacheOff cacheOff;
    model.eval();
    at::cuda::CUDAStream previous = at::cuda::getCurrentCUDAStream(device.index());
    c10::cuda::CUDAStreamGuard streamGuard(*g.stream);
    g.stream->synchronize();
    previous.synchronize();
    {
      // Warm-up on copies of the states (lazy cuBLAS/allocator set-up must not happen inside the capture).
      MixingStates scratch;
      for (const auto& s : states) scratch.push_back(s->clone(1));
      at::Tensor savedTokens = g.tokens.clone(), savedPosition = g.position.clone();
      g.body(model, decoding, scratch);
      g.tokens.copy_(savedTokens);
      g.position.copy_(savedPosition);
      g.stream->synchronize();
    }
    beginThreadLocalCapture(g.graph);
    g.body(model, decoding, states);
    g.graph.capture_end();
  } catch (...) {
    for (auto& s : swaps) s.parameter.set_data(s.original);
    throw;
  }
  for (auto& s : swaps) s.parameter.set_data(s.original);
  g.versions = parameterVersions(model);
}

GraphedGreedyStep::~GraphedGreedyStep() = default;

bool GraphedGreedyStep::stillValid(LanguageModel& model) const { return parameterVersions(model) == impl_->versions; }

bool GraphedGreedyStep::fused() const { return impl_->fused != nullptr; }
bool GraphedGreedyStep::int8Weights() const { return impl_->int8Weights; }
bool GraphedGreedyStep::tensorCores() const { return impl_->fused != nullptr && impl_->fused->tensorCores(); }

at::Tensor GraphedGreedyStep::run(const at::Tensor& first, int64_t position, int64_t count) {
  Impl& g = *impl_;
  c10::cuda::CUDAGuard deviceGuard(first.device());
  at::cuda::CUDAStream caller = at::cuda::getCurrentCUDAStream(first.device().index());
  // The graph's stream waits for what the caller queued (the first token), and the caller for the graph.
  at::cuda::CUDAEvent ready;
  ready.record(caller);
  ready.block(*g.stream);
  at::Tensor out;
  {
    c10::cuda::CUDAStreamGuard streamGuard(*g.stream);
    g.tokens.copy_(first.view({g.batch, 1}));
    g.position.fill_(position);
    int64_t done = 0;
    if (g.stepsPerReplay > 1)
      for (; done + g.stepsPerReplay <= count; done += g.stepsPerReplay) g.chain.replay();
    for (; done < count; ++done) g.graph.replay();
    out = g.history.narrow(1, position, count).clone();
  }
  at::cuda::CUDAEvent done;
  done.record(*g.stream);
  done.block(caller);
  return out;
}

bool graphedDecodingBuilt() { return true; }

#else

struct GraphedGreedyStep::Impl {};

GraphedGreedyStep::GraphedGreedyStep(LanguageModel&, CachedDecoding&, MixingStates&, int64_t, bool, bool) {
  fail("CUDA_UNAVAILABLE", "graphed decoding needs a CUDA build of the addon");
}
GraphedGreedyStep::~GraphedGreedyStep() = default;
at::Tensor GraphedGreedyStep::run(const at::Tensor&, int64_t, int64_t) { fail("CUDA_UNAVAILABLE", "graphed decoding needs a CUDA build"); }
bool GraphedGreedyStep::stillValid(LanguageModel&) const { return false; }
bool GraphedGreedyStep::fused() const { return false; }
bool GraphedGreedyStep::int8Weights() const { return false; }
bool GraphedGreedyStep::tensorCores() const { return false; }
bool graphedDecodingBuilt() { return false; }

#endif

}  // namespace maskmix
