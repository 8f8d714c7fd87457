#include "train/graphed_training_step.h"

#include "common/error.h"
#include "common/torch_compat.h"

#ifdef MASKMIX_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>

#include "common/cuda_graph_capture.h"
#endif

namespace maskmix {

#ifdef MASKMIX_WITH_CUDA

namespace {

bool sameLayout(const at::Tensor& a, const at::Tensor& b) {
  if (a.defined() != b.defined()) return false;
  return !a.defined() || (a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type() && a.device() == b.device());
}

}  // namespace

struct GraphedTrainingStep::Impl {
  at::cuda::CUDAGraph graph;
  c10::optional<at::cuda::CUDAStream> stream;  // the warm-up's and the capture's
  at::Tensor tokens, targets, lr;               // the graph reads its batch and learning rate from these
  StepTensors warmUp, outputs;
  bool captured = false;
};

GraphedTrainingStep::GraphedTrainingStep(const at::Tensor& tokens, const at::Tensor& targets, double lr, const Body& body)
    : impl_(std::make_unique<Impl>()) {
  Impl& g = *impl_;
  require(tokens.is_cuda(), "a graphed training step needs the batch on a CUDA device", "INTERNAL");
  c10::cuda::CUDAGuard deviceGuard(tokens.device());
  at::cuda::CUDAStream caller = at::cuda::getCurrentCUDAStream();
  g.stream = at::cuda::getStreamFromPool(false, tokens.device().index());
  // The side stream starts after what the caller queued (the batch's copy to the device, the last step) ...
  at::cuda::CUDAEvent ready;
  ready.record(caller);
  ready.block(*g.stream);
  {
    c10::cuda::CUDAStreamGuard streamGuard(*g.stream);
    g.tokens = tokens.contiguous().clone();
    g.targets = targets.defined() ? targets.contiguous().clone() : at::Tensor();
    g.lr = at::full({}, lr, tokens.options().dtype(at::kFloat));
    g.warmUp = body(g.tokens, g.targets, g.lr);
  }
  // ... and the caller's later work (read-backs, the next step) after the warm-up.
  at::cuda::CUDAEvent done;
  done.record(*g.stream);
  done.block(caller);
}

void GraphedTrainingStep::capture(const std::vector<at::Tensor>& parameters, const Body& body) {
  Impl& g = *impl_;
  c10::cuda::CUDAGuard deviceGuard(g.tokens.device());
  c10::cuda::CUDAStreamGuard streamGuard(*g.stream);
  // The warm-up's gradients and cached activations go back before the graph's pool takes its own.
  for (const auto& p : parameters) p.mutable_grad() = at::Tensor();
  g.stream->synchronize();
  c10::cuda::CUDACachingAllocator::emptyCache();
  beginThreadLocalCapture(g.graph);
  try {
    g.outputs = body(g.tokens, g.targets, g.lr);
  } catch (...) {
    try {
      g.graph.capture_end();
    } catch (...) {
    }
    (void)cudaGetLastError();  // a refused call during capture leaves its error behind for the next check
    throw;
  }
  g.graph.capture_end();  // nothing ran: the caller's stream has nothing to wait for
  g.captured = true;
}

GraphedTrainingStep::~GraphedTrainingStep() = default;

const StepTensors& GraphedTrainingStep::warmUpResult() const { return impl_->warmUp; }

bool GraphedTrainingStep::accepts(const at::Tensor& tokens, const at::Tensor& targets) const {
  return impl_->captured && sameLayout(tokens, impl_->tokens) && sameLayout(targets, impl_->targets);
}

const StepTensors& GraphedTrainingStep::run(const at::Tensor& tokens, const at::Tensor& targets, double lr) {
  Impl& g = *impl_;
  require(accepts(tokens, targets), "no captured step for this batch", "INTERNAL");
  c10::cuda::CUDAGuard deviceGuard(tokens.device());
  g.tokens.copy_(tokens);
  if (g.targets.defined()) g.targets.copy_(targets);
  g.lr.fill_(lr);
  g.graph.replay();
  return g.outputs;
}

bool graphedTrainingBuilt() { return MASKMIX_TORCH_AT_LEAST(2, 4); }

#else

struct GraphedTrainingStep::Impl {
  StepTensors none;
};

GraphedTrainingStep::GraphedTrainingStep(const at::Tensor&, const at::Tensor&, double, const Body&) {
  fail("CUDA_UNAVAILABLE", "graphed training steps need a CUDA build of the addon");
}
GraphedTrainingStep::~GraphedTrainingStep() = default;
void GraphedTrainingStep::capture(const std::vector<at::Tensor>&, const Body&) {
  fail("CUDA_UNAVAILABLE", "graphed training steps need a CUDA build of the addon");
}
const StepTensors& GraphedTrainingStep::warmUpResult() const { return impl_->none; }
bool GraphedTrainingStep::accepts(const at::Tensor&, const at::Tensor&) const { return false; }
const StepTensors& GraphedTrainingStep::run(const at::Tensor&, const at::Tensor&, double) {
  fail("CUDA_UNAVAILABLE", "graphed training steps need a CUDA build of the addon");
}
bool graphedTrainingBuilt() { return false; }

#endif

}  // namespace maskmix
