#include "train/trainer.h"

#include <torch/utils.h>
#include <torch/nn/utils/clip_grad.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "train/causal_lm_loss.h"

namespace maskmix {

Trainer::Trainer(std::shared_ptr<LanguageModel> model, TrainConfig config) : model_(std::move(model)), config_(config) {
  require(config_.learningRate > 0, "learningRate must be positive", "CONFIG_INVALID");
  require(config_.warmupSteps >= 0 && config_.totalSteps >= 0, "warmupSteps and totalSteps must be ≥ 0", "CONFIG_INVALID");
  require(config_.gradClip >= 0, "gradClip must be ≥ 0", "CONFIG_INVALID");
  auto options = torch::optim::AdamWOptions(config_.learningRate)
                     .betas({config_.beta1, config_.beta2})
                     .eps(config_.epsilon)
                     .weight_decay(config_.weightDecay);
  optimizer_ = std::make_unique<torch::optim::AdamW>(model_->parameters(), options);
}

double Trainer::learningRateAt(int64_t step) const {
  double peak = config_.learningRate;
  if (step < config_.warmupSteps) return peak * static_cast<double>(step + 1) / static_cast<double>(config_.warmupSteps);
  if (config_.totalSteps <= config_.warmupSteps) return peak;
  double progress = static_cast<double>(step - config_.warmupSteps) / static_cast<double>(config_.totalSteps - config_.warmupSteps);
  progress = std::min(1.0, std::max(0.0, progress));
  double floor = config_.minLrRatio * peak;
  return floor + (peak - floor) * (1.0 - progress);
}

StepResult Trainer::step(const at::Tensor& tokens) {
  model_->train();
  double lr = learningRateAt(steps_);
  for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);

  optimizer_->zero_grad();
  at::Tensor logits = model_->forward(tokens);
  LossResult loss = causalLmLoss(logits, tokens, model_->config().padId);
  loss.loss.backward();
  double norm = torch::nn::utils::clip_grad_norm_(model_->parameters(), config_.gradClip > 0 ? config_.gradClip : INFINITY);
  double lossValue = loss.loss.item<double>();
  if (!std::isfinite(lossValue) || !std::isfinite(norm)) {
    // Skip the update so the weights stay the last good ones; the caller decides whether to stop.
    optimizer_->zero_grad();
    fail("NON_FINITE", "non-finite " + std::string(std::isfinite(lossValue) ? "gradient norm" : "loss") + " at step " +
                           std::to_string(steps_ + 1) + "; the update was skipped");
  }
  optimizer_->step();
  ++steps_;
  return {lossValue, norm, lr, steps_, loss.targets};
}

EvalResult evalLoss(LanguageModel& model, const at::Tensor& tokens) {
  torch::NoGradGuard noGrad;
  model.eval();
  at::Tensor logits = model.forward(tokens);
  LossResult loss = causalLmLoss(logits, tokens, model.config().padId);
  return {loss.loss.item<double>(), loss.targets};
}

}  // namespace maskmix
