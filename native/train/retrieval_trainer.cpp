#include "train/retrieval_trainer.h"

#include <torch/utils.h>

#include "common/error.h"
#include "common/torch_compat.h"

namespace maskmix {

RetrievalTrainer::RetrievalTrainer(std::shared_ptr<RetrievalMixer> model, TrainConfig config) : model_(std::move(model)), config_(std::move(config)) {
  require(model_ != nullptr, "model was disposed", "DISPOSED");
  require(config_.learningRate > 0, "learningRate must be positive", "CONFIG_INVALID");
  require(config_.warmupSteps >= 0 && config_.totalSteps >= 0, "warmupSteps and totalSteps must be ≥ 0", "CONFIG_INVALID");
  require(config_.gradClip >= 0, "gradClip must be ≥ 0", "CONFIG_INVALID");
  require(config_.objective == "next-token", "the retrieval trainer has one objective (cross-entropy over candidate positions)", "CONFIG_INVALID");
  autocast_ = trainsUnderAutocast(config_, at::Device(model_->config().device));
  params_ = model_->parameters();
  optimizer_ = std::make_unique<AdamW>(params_, AdamWOptions{config_.beta1, config_.beta2, config_.epsilon, config_.weightDecay});
}

RetrievalStepResult RetrievalTrainer::step(const at::Tensor& inputs, const at::Tensor& labels) {
  model_->train();
  double lr = learningRateAt(steps_);
  for (auto& p : params_) p.mutable_grad() = at::Tensor();
  at::Tensor loss;
  {
    compat::CudaAutocast autocast(autocast_, at::kBFloat16);
    loss = retrievalLoss(model_->logits(inputs), labels);
  }
  loss.backward();
  GradientClip clip = measureGradientClip(params_, config_.gradClip);
  const at::Tensor& norm = clip.norm;
  at::Tensor nonFinite = at::logical_not(at::logical_and(loss.isfinite(), norm.isfinite())).to(at::kFloat);
  optimizer_->step(lr, nonFinite, clip.divisor);
  ++steps_;
  RetrievalStepResult result;
  result.step = steps_;
  result.learningRate = lr;
  result.loss = loss.item<double>();
  result.gradNorm = norm.item<double>();
  if (nonFinite.item<double>() > 0) fail("NON_FINITE", "non-finite loss or gradient at step " + std::to_string(steps_) + "; its update was skipped");
  return result;
}

void RetrievalTrainer::loadState(const std::map<std::string, at::Tensor>& tensors, int64_t steps) {
  loadNamedOptimizerState(*model_, *optimizer_, tensors, steps);
  steps_ = steps;
}

RetrievalEvalResult evaluateRetrievalBatch(RetrievalMixer& model, const at::Tensor& inputs, const at::Tensor& labels, bool fp32) {
  torch::NoGradGuard noGrad;
  model.eval();
  compat::CudaAutocast autocast(inputs.is_cuda() && !fp32, at::kBFloat16);
  at::Tensor logits = model.logits(inputs);
  RetrievalEvalResult out;
  out.samples = inputs.size(0);
  out.lossSum = retrievalLoss(logits, labels).item<double>() * static_cast<double>(out.samples);
  out.correct = logits.argmax(1).add(1).eq(labels).sum().item<int64_t>();
  return out;
}

}  // namespace maskmix
