#include "train/adamw.h"

#include <cmath>
#include <type_traits>

#include "common/env_setting.h"
#include "common/error.h"
#include "common/torch_compat.h"
#include "tensor/compute_copies.h"

#ifdef MASKMIX_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>

#include "kernels/kernels.h"
#endif

namespace maskmix {

AdamW::AdamW(std::vector<at::Tensor> params, AdamWOptions options) : params_(std::move(params)), options_(options) {
  for (const auto& p : params_) {
    expAvg_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
    expAvgSq_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
    stepTensors_.push_back(at::zeros({}, p.options().dtype(at::kFloat)));
  }
}

AdamW::Group AdamW::withGradients() const {
  Group g;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].grad().defined()) continue;
    g.params.push_back(params_[i]);
    g.grads.push_back(params_[i].grad());
    g.avgs.push_back(expAvg_[i]);
    g.avgSqs.push_back(expAvgSq_[i]);
    g.steps.push_back(stepTensors_[i]);
  }
  return g;
}

#if MASKMIX_TORCH_AT_LEAST(2, 4)
namespace {
// PyTorch's fused kernel, with the learning rate as a number or a 0-dim tensor on the device. It reads the step
// counters (advanced by the caller) and divides each gradient by grad_scale (when given), storing it back.
template <typename LearningRate>
void fusedAdamW(std::vector<at::Tensor>& params, std::vector<at::Tensor>& grads, std::vector<at::Tensor>& avgs,
                std::vector<at::Tensor>& avgSqs, std::vector<at::Tensor>& steps, const LearningRate& lr, const AdamWOptions& o,
                const at::Tensor& skip, const at::Tensor& gradDivisor) {
  c10::optional<at::Tensor> gradScale;
  if (gradDivisor.defined()) {
    // The kernel reads grad_scale as float32: a float64 model's gradients are divided here, at full precision.
    if (gradDivisor.scalar_type() == at::kFloat) gradScale = gradDivisor;
    else at::_foreach_mul_(grads, gradDivisor.reciprocal());
  }
  at::_fused_adamw_(params, grads, avgs, avgSqs, /*max_exp_avg_sqs=*/{}, steps, lr, o.beta1, o.beta2, o.weightDecay, o.epsilon,
                    /*amsgrad=*/false, /*maximize=*/false, /*grad_scale=*/gradScale, /*found_inf=*/skip);
}

#ifdef MASKMIX_WITH_CUDA
// Whether maskmix's AdamW kernel (kernels/adamw.cu) takes the group: float32 CUDA tensors, contiguous and 16-byte
// aligned, on one device, with a float32 divisor. Opt-in (MASKMIX_ADAMW=maskmix) until it has run on a GPU: it was
// written in a session that got none (scripts/gpu/check-adamw.mjs and scripts/device/step-variants.sh are ready).
bool kernelTakes(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads, const std::vector<at::Tensor>& avgs,
                 const std::vector<at::Tensor>& avgSqs, const at::Tensor& gradDivisor) {
  if (!envIs("MASKMIX_ADAMW", "maskmix") || (gradDivisor.defined() && gradDivisor.scalar_type() != at::kFloat)) return false;
  for (size_t i = 0; i < params.size(); ++i)
    for (const at::Tensor* t : {&params[i], &grads[i], &avgs[i], &avgSqs[i]})
      if (!t->is_cuda() || t->device() != params[0].device() || t->scalar_type() != at::kFloat || !t->is_contiguous() ||
          !kernels::aligned16(t->data_ptr()))
        return false;
  return true;
}

// The update by kernels/adamw.cu, kAdamWTensors tensors a launch, writing each weight's bf16 copy (tensor/
// compute_copies.h) where it has one; `copied` gets the weights whose copies it wrote.
void kernelAdamW(std::vector<at::Tensor>& params, std::vector<at::Tensor>& grads, std::vector<at::Tensor>& avgs,
                 std::vector<at::Tensor>& avgSqs, std::vector<at::Tensor>& steps, const float* lrPointer, double lrValue,
                 const AdamWOptions& o, const at::Tensor& skip, const at::Tensor& gradDivisor, std::vector<at::Tensor>& copied) {
  at::Tensor skipFloat = skip.to(at::kFloat);
  kernels::AdamWHyper hyper;
  hyper.lr = lrPointer;
  hyper.lrValue = static_cast<float>(lrValue);
  hyper.skip = skipFloat.data_ptr<float>();
  hyper.gradDivisor = gradDivisor.defined() ? gradDivisor.data_ptr<float>() : nullptr;
  hyper.beta1 = static_cast<float>(o.beta1);
  hyper.beta2 = static_cast<float>(o.beta2);
  hyper.epsilon = static_cast<float>(o.epsilon);
  hyper.weightDecay = static_cast<float>(o.weightDecay);
  cudaStream_t stream = at::cuda::getCurrentCUDAStream(params[0].device().index()).stream();
  kernels::AdamWBatch batch;
  auto flush = [&] {
    kernels::adamW(batch, hyper, stream);
    batch.count = 0;
  };
  for (size_t i = 0; i < params.size(); ++i) {
    at::Tensor copy = copyOf(params[i]);
    if (copy.defined()) copied.push_back(params[i]);
    kernels::AdamWTensor& t = batch.tensors[batch.count++];
    t.param = params[i].data_ptr<float>();
    t.grad = grads[i].data_ptr<float>();
    t.avg = avgs[i].data_ptr<float>();
    t.avgSq = avgSqs[i].data_ptr<float>();
    t.step = steps[i].data_ptr<float>();
    t.copy = copy.defined() ? copy.data_ptr() : nullptr;
    t.numel = params[i].numel();
    if (batch.count == kernels::kAdamWTensors) flush();
  }
  if (batch.count > 0) flush();
  const char* error = kernels::lastError();
  if (error[0] != '\0') fail("INTERNAL", std::string("AdamW kernel failed: ") + error);
}
#endif

// The update on libtorch 2.4+: maskmix's kernel where it takes the tensors, else PyTorch's fused one. Neither
// advances the step counters, so that is done first, by 1 − skip: a skipped step (params and moments untouched)
// leaves bias correction unchanged. Afterwards the weights' version counters are bumped, whether or not the kernel's
// writes counted (ours do not): what keys on them (a decoder's captured graph, the bf16 copies) must see the change.
// Then the copies the update wrote beside the weights are current again.
template <typename LearningRate>
void update(std::vector<at::Tensor>& params, std::vector<at::Tensor>& grads, std::vector<at::Tensor>& avgs, std::vector<at::Tensor>& avgSqs,
            std::vector<at::Tensor>& steps, const LearningRate& lr, const AdamWOptions& o, const at::Tensor& skip,
            const at::Tensor& gradDivisor, std::vector<at::Tensor>& copied) {
  copied.clear();
  at::_foreach_add_(steps, 1.0 - skip.to(at::kFloat));
  bool ours = false;
#ifdef MASKMIX_WITH_CUDA
  ours = kernelTakes(params, grads, avgs, avgSqs, gradDivisor);
  if (ours) {
    if constexpr (std::is_same_v<LearningRate, at::Tensor>) {
      at::Tensor lrFloat = lr.to(at::kFloat);
      kernelAdamW(params, grads, avgs, avgSqs, steps, lrFloat.template data_ptr<float>(), 0.0, o, skip, gradDivisor, copied);
    } else {
      kernelAdamW(params, grads, avgs, avgSqs, steps, nullptr, lr, o, skip, gradDivisor, copied);
    }
  }
#endif
  if (!ours) fusedAdamW(params, grads, avgs, avgSqs, steps, lr, o, skip, gradDivisor);
  for (auto& p : params) p.unsafeGetTensorImpl()->bump_version();
  markCopiesCurrent(copied);
}
}  // namespace
#endif

void AdamW::step(double lr, const at::Tensor& skip, const at::Tensor& gradDivisor) {
  at::NoGradGuard noGrad;
  copied_.clear();
  Group g = withGradients();
  if (g.params.empty()) return;
#if MASKMIX_TORCH_AT_LEAST(2, 4)
  update(g.params, g.grads, g.avgs, g.avgSqs, g.steps, lr, options_, skip, gradDivisor, copied_);
#else
  if (skip.item<float>() != 0.0f) return;  // 1.13 path runs on CPU, where reading the flag costs nothing
  if (gradDivisor.defined()) at::_foreach_div_(g.grads, at::Scalar(gradDivisor.item<double>()));
  for (size_t i = 0; i < g.params.size(); ++i) {
    double t = g.steps[i].add_(1).item<double>();
    double bias1 = 1.0 - std::pow(options_.beta1, t);
    double bias2 = 1.0 - std::pow(options_.beta2, t);
    g.params[i].mul_(1.0 - lr * options_.weightDecay);
    g.avgs[i].lerp_(g.grads[i], 1.0 - options_.beta1);
    g.avgSqs[i].mul_(options_.beta2).addcmul_(g.grads[i], g.grads[i], 1.0 - options_.beta2);
    at::Tensor denom = g.avgSqs[i].sqrt().div_(std::sqrt(bias2)).add_(options_.epsilon);
    g.params[i].addcdiv_(g.avgs[i], denom, -lr / bias1);
  }
#endif
}

void AdamW::step(const at::Tensor& lr, const at::Tensor& skip, const at::Tensor& gradDivisor) {
#if MASKMIX_TORCH_AT_LEAST(2, 4)
  at::NoGradGuard noGrad;
  copied_.clear();
  Group g = withGradients();
  if (g.params.empty()) return;
  update(g.params, g.grads, g.avgs, g.avgSqs, g.steps, lr, options_, skip, gradDivisor, copied_);
#else
  (void)lr;
  (void)skip;
  (void)gradDivisor;
  fail("CUDA_UNAVAILABLE", "a learning rate held on the device needs libtorch 2.4 or newer");
#endif
}

std::vector<at::Tensor> AdamW::stateTensors() const {
  std::vector<at::Tensor> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.push_back(expAvg_[i]);
    out.push_back(expAvgSq_[i]);
  }
  return out;
}

void AdamW::loadState(const std::vector<at::Tensor>& tensors, int64_t steps, const std::vector<at::Tensor>& stepCounts) {
  require(tensors.size() == 2 * params_.size(), "optimizer state holds " + std::to_string(tensors.size()) + " tensors, expected " +
                                                    std::to_string(2 * params_.size()), "CHECKPOINT_INVALID");
  // Every shape is checked before anything is copied, so a refused state leaves the optimizer as it was.
  for (size_t i = 0; i < params_.size(); ++i) {
    require(tensors[2 * i].sizes() == params_[i].sizes() && tensors[2 * i + 1].sizes() == params_[i].sizes(),
            "optimizer state tensor " + std::to_string(i) + " does not match its parameter's shape", "CHECKPOINT_INVALID");
    require(at::isFloatingType(tensors[2 * i].scalar_type()) && at::isFloatingType(tensors[2 * i + 1].scalar_type()),
            "optimizer state tensor " + std::to_string(i) + " is not floating point", "CHECKPOINT_INVALID");
  }
  require(stepCounts.empty() || stepCounts.size() == params_.size(), "optimizer state holds " + std::to_string(stepCounts.size()) +
                                                                          " step counts, expected " + std::to_string(params_.size()),
          "CHECKPOINT_INVALID");
  std::vector<double> counts(params_.size(), static_cast<double>(steps));
  for (size_t i = 0; i < stepCounts.size(); ++i) {
    require(stepCounts[i].numel() == 1, "optimizer step count " + std::to_string(i) + " is not one number", "CHECKPOINT_INVALID");
    counts[i] = stepCounts[i].to(at::kCPU).to(at::kDouble).item<double>();
    require(counts[i] >= 0 && counts[i] <= static_cast<double>(steps) && counts[i] == std::floor(counts[i]),
            "optimizer step count " + std::to_string(i) + " must be a whole number from 0 to the step count " + std::to_string(steps),
            "CHECKPOINT_INVALID");
  }
  at::NoGradGuard noGrad;
  for (size_t i = 0; i < params_.size(); ++i) {
    expAvg_[i].copy_(tensors[2 * i]);
    expAvgSq_[i].copy_(tensors[2 * i + 1]);
    stepTensors_[i].fill_(counts[i]);
  }
}

GradientClip measureGradientClip(const std::vector<at::Tensor>& params, double maxNorm) {
  at::NoGradGuard noGrad;
  std::vector<at::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  GradientClip clip;
  if (grads.empty()) {
    clip.norm = at::zeros({});
    return clip;
  }
  std::vector<at::Tensor> norms = at::_foreach_norm(grads, 2);
  // In float64 for a float64 model (as clip_grad_norm_ would), else in float32 whatever the gradients' dtype.
  clip.norm = at::stack(norms).to(grads[0].scalar_type() == at::kDouble ? at::kDouble : at::kFloat).norm(2);
  // clip_grad_norm_'s factor min(1, maxNorm / (norm + 1e-6)) as the divisor the fused optimizer takes, kept as a
  // tensor so the GPU never waits on the host for it.
  if (maxNorm > 0) clip.divisor = clip.norm.add(1e-6).div(maxNorm).clamp_min(1.0);
  return clip;
}

}  // namespace maskmix
