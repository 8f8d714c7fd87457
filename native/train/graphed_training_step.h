// A whole training step — forward, loss, backward, clipping, AdamW, the loss accumulators — captured once as a
// CUDA graph and replayed for every later batch of the same shape: one launch per step instead of hundreds, so
// the GPU never idles between kernels while the host queues the next one, and the host thread is free at once.
//
// What capture freezes: host-side decisions (shapes, which kernels, chunk counts) and every tensor's address. So
// the batch is copied into static buffers before each replay, the learning rate is read from a device tensor, and
// the gradients are the tensors the capture allocated: replays write into them. (Setting them to none outside the
// graph does not break the replays, which keep writing the captured tensors, but .grad() then no longer shows them.)
// The trainer (train/trainer.h) owns those rules; this class only warms up, captures and replays.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <vector>

namespace maskmix {

// What one step leaves on the device: its loss, the gradient norm before clipping and the skip flag (1 when the
// loss or norm was not finite and the update was skipped).
struct StepTensors {
  at::Tensor loss, norm, nonFinite;
};

class GraphedTrainingStep {
 public:
  // One step's device work for a batch, with the learning rate as a 0-dim float32 tensor on the device. It must
  // not wait for the host (no .item()), since a capture cannot.
  using Body = std::function<StepTensors(const at::Tensor& tokens, const at::Tensor& targets, const at::Tensor& lr)>;

  // Runs `body` once eagerly on a side stream as the real step for this batch: the warm-up that lazy set-up needs
  // (cuBLAS handles and workspaces for that stream, the autograd device thread, the optimizer's kernels). What it
  // throws is the step's own error. `targets` may be undefined (next-token targets from the tokens themselves).
  GraphedTrainingStep(const at::Tensor& tokens, const at::Tensor& targets, double lr, const Body& body);
  ~GraphedTrainingStep();
  GraphedTrainingStep(const GraphedTrainingStep&) = delete;
  GraphedTrainingStep& operator=(const GraphedTrainingStep&) = delete;

  // The warm-up step's results.
  const StepTensors& warmUpResult() const;
  // Captures `body` on the same stream. The gradients of `parameters` are set to none first, so the capture
  // allocates them in the graph's memory pool and the warm-up's are not held beside them (peak memory stays that
  // of one step). Throws when the capture fails; the step is then unusable (run() refuses).
  void capture(const std::vector<at::Tensor>& parameters, const Body& body);
  // Whether a batch has the captured shape, dtype and device (and targets or not, as captured), and a graph exists.
  bool accepts(const at::Tensor& tokens, const at::Tensor& targets) const;
  // Copies the batch and learning rate into the graph's buffers and replays the step on the current stream. The
  // tensors returned are the graph's own: the next replay overwrites them.
  const StepTensors& run(const at::Tensor& tokens, const at::Tensor& targets, double lr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether this build of the addon can capture training steps: CUDA builds on libtorch ≥ 2.4 (the fused AdamW's
// tensor learning rate; clipping without a host sync).
bool graphedTrainingBuilt();

}  // namespace maskmix
