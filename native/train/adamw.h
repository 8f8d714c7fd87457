// AdamW (decoupled weight decay), as torch.optim.AdamW computes it. On libtorch 2.x the update is PyTorch's
// fused multi-tensor kernel (one launch per dtype group on CUDA, vectorised on CPU), or, opt-in on CUDA
// (MASKMIX_ADAMW=maskmix), maskmix's own (kernels/adamw.cu), which also writes the weights' bf16 copies
// (tensor/compute_copies.h); on 1.13 it is the same arithmetic written as per-tensor in-place ops.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace maskmix {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weightDecay = 0.0;
};

class AdamW {
 public:
  AdamW(std::vector<at::Tensor> params, AdamWOptions options);

  // One update with learning rate `lr` from the parameters' current .grad(). When `skip` (a 0-dim float tensor
  // on the parameters' device) is non-zero the update is skipped without a host sync: how non-finite gradients
  // leave the weights untouched on a GPU. A defined `gradDivisor` (0-dim, GradientClip::divisor) divides
  // the gradients first, and they keep the divided values; on libtorch 2.4+ inside the fused kernel's one pass.
  void step(double lr, const at::Tensor& skip, const at::Tensor& gradDivisor = {});
  // The same with the learning rate read from a 0-dim float32 tensor on the parameters' device, so a step
  // captured as a CUDA graph (train/graphed_training_step.h) still follows the schedule. libtorch ≥ 2.4 only.
  void step(const at::Tensor& lr, const at::Tensor& skip, const at::Tensor& gradDivisor = {});

  // The parameters whose bf16 copies (tensor/compute_copies.h) the last step wrote beside them: what a CUDA graph
  // that captured that step keeps current on every replay.
  const std::vector<at::Tensor>& copiedLastStep() const { return copied_; }

  // State for checkpoints: exp_avg and exp_avg_sq of every parameter, in parameter order.
  std::vector<at::Tensor> stateTensors() const;
  // Every parameter's own step count (0-dim float32, in parameter order), which sets its bias correction: a
  // skipped (non-finite) step or one without a gradient for it leaves it behind the optimizer's step count.
  const std::vector<at::Tensor>& stepCounts() const { return stepTensors_; }
  // `stepCounts` empty (a checkpoint from before they were kept) sets every parameter's count to `steps`.
  void loadState(const std::vector<at::Tensor>& tensors, int64_t steps, const std::vector<at::Tensor>& stepCounts = {});

 private:
  // The parameters that have a gradient this step, with their gradients, moments and step counts.
  struct Group {
    std::vector<at::Tensor> params, grads, avgs, avgSqs, steps;
  };
  Group withGradients() const;

  std::vector<at::Tensor> params_;
  std::vector<at::Tensor> expAvg_;
  std::vector<at::Tensor> expAvgSq_;
  std::vector<at::Tensor> stepTensors_;
  std::vector<at::Tensor> copied_;  // float32 step count per parameter, as the fused kernel wants it
  AdamWOptions options_;
};

// Clipping by the gradients' global L2 norm, as torch.nn.utils.clip_grad_norm_ scales them, but left to the
// optimizer to apply (AdamW::step's gradDivisor): a separate scaling pass read and wrote every gradient once more.
struct GradientClip {
  at::Tensor norm;     // before clipping: 0-dim float32 (float64 for float64 gradients) on their device, no host sync
  at::Tensor divisor;  // max(1, (norm + 1e-6) / maxNorm), 0-dim, norm's dtype; undefined when maxNorm <= 0
};
GradientClip measureGradientClip(const std::vector<at::Tensor>& params, double maxNorm);

}  // namespace maskmix
