#include "train/trainer.h"

#include <torch/utils.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/torch_compat.h"
#include "tensor/compute_copies.h"
#include "train/gradient_accumulation.h"
#include "train/multi_token.h"

namespace maskmix {

bool trainsUnderAutocast(const TrainConfig& config, const at::Device& device) {
  if (config.precision == "fp32") return false;
  if (config.precision == "bf16") {
    require(device.is_cuda(), "precision 'bf16' needs a CUDA device; use 'fp32' or 'auto' on the CPU", "CONFIG_INVALID");
    return true;
  }
  require(config.precision == "auto", "precision must be 'auto', 'bf16' or 'fp32'", "CONFIG_INVALID");
  return device.is_cuda();
}

LinearCrossEntropy nextTokenLoss(LanguageModel& model, const at::Tensor& tokens, const at::Tensor& targetTokens) {
  int64_t t = tokens.size(1);
  require(!targetTokens.defined() || targetTokens.sizes() == tokens.sizes(), "targets must have the shape of tokens", "SHAPE_MISMATCH");
  const at::Tensor& source = targetTokens.defined() ? targetTokens : tokens;
  // Position i predicts token i + offset: the next token (1), or for an autoencoder the token itself (0).
  const int64_t offset = model.targetOffset();
  require(t >= 1 + offset, "a sequence needs at least 2 tokens to have a next-token target", "SHAPE_MISMATCH");
  // Rows of predictors and targets in the model's own layout, so no [.., d] activation is transposed.
  LanguageModel::Hidden h = model.hiddenStates(tokens);
  int64_t d = h.states.size(2);
  const int64_t rows = t - offset;
  at::Tensor predictors = h.tokenMajor ? h.states.narrow(0, 0, rows).reshape({-1, d}) : h.states.narrow(1, 0, rows).reshape({-1, d});
  at::Tensor targets = h.tokenMajor ? source.t().narrow(0, offset, rows).reshape({-1}) : source.narrow(1, offset, rows).reshape({-1});
  return linearCrossEntropy(predictors, model.outputWeight(), targets, model.config().padId);
}

Trainer::Trainer(std::shared_ptr<LanguageModel> model, TrainConfig config) : model_(std::move(model)), config_(config) {
  require(config_.learningRate > 0, "learningRate must be positive", "CONFIG_INVALID");
  require(config_.warmupSteps >= 0 && config_.totalSteps >= 0, "warmupSteps and totalSteps must be ≥ 0", "CONFIG_INVALID");
  require(config_.gradClip >= 0, "gradClip must be ≥ 0", "CONFIG_INVALID");
  require(config_.gradientAccumulation >= 1, "gradientAccumulation must be a positive integer", "CONFIG_INVALID");
  require(config_.objective == "next-token" || config_.objective == "infonce", "objective must be 'next-token' or 'infonce'", "CONFIG_INVALID");
  if (config_.objective == "infonce") checkInfoNceOptions(config_.infoNce);
  at::Device device(model_->config().device);
  autocast_ = trainsUnderAutocast(config_, device);
  if (config_.cudaGraph) {
    // The kinds whose graphed steps scripts/gpu/check-graphed-training.mjs holds to the step-by-step ones;
    // 'linear' (its chunked solve) has not been checked there yet.
    const std::string& kind = model_->config().kind;
    require(kind == "mixer" || kind == "llama" || kind == "repeat" || kind == "autoencoder",
            "cudaGraph captures the training steps of 'mixer', 'llama', 'repeat' and 'autoencoder' models, not '" + kind + "' ones yet",
            "CONFIG_INVALID");
    require(device.is_cuda(), "cudaGraph needs a model on a CUDA device", "CONFIG_INVALID");
    require(graphedTrainingBuilt(), "cudaGraph needs a CUDA build of the addon on libtorch 2.4 or newer", "CUDA_UNAVAILABLE");
    require(config_.gradientAccumulation == 1, "cudaGraph captures single-batch steps: use gradientAccumulation 1 with it", "CONFIG_INVALID");
    require(config_.objective == "next-token", "cudaGraph captures next-token training steps only", "CONFIG_INVALID");
  }
  params_ = model_->parameters();
  optimizer_ = std::make_unique<AdamW>(params_, AdamWOptions{config_.beta1, config_.beta2, config_.epsilon, config_.weightDecay});
  auto scalar = at::TensorOptions().dtype(at::kFloat).device(device);
  lossSum_ = at::zeros({}, scalar);
  nonFiniteSteps_ = at::zeros({}, scalar);
}

double scheduledLearningRate(const TrainConfig& config, int64_t step) {
  double peak = config.learningRate;
  if (step < config.warmupSteps) return peak * static_cast<double>(step + 1) / static_cast<double>(config.warmupSteps);
  if (config.totalSteps <= config.warmupSteps) return peak;
  double progress = static_cast<double>(step - config.warmupSteps) / static_cast<double>(config.totalSteps - config.warmupSteps);
  progress = std::min(1.0, std::max(0.0, progress));
  double floor = config.minLrRatio * peak;
  return floor + (peak - floor) * (1.0 - progress);
}

double Trainer::learningRateAt(int64_t step) const { return scheduledLearningRate(config_, step); }

StepTensors Trainer::runStep(const at::Tensor& tokens, const at::Tensor& targets, const LearningRate& lr) {
  for (auto& p : params_) p.mutable_grad() = at::Tensor();  // set to none: the first backward writes, not adds
  // Data parallel: the session may all-reduce gradient buckets while backward still runs.
  std::unique_ptr<GradientSync::Session> sync = gradientSync_ ? gradientSync_->begin() : nullptr;

  at::Tensor stepLoss;  // detached: the loss of the whole batch
  const int64_t microBatches = config_.gradientAccumulation;
  if (microBatches == 1) {
    LinearCrossEntropy loss;
    {
      compat::CudaAutocast autocast(autocast_, at::kBFloat16);
      if (config_.objective == "infonce") loss.loss = contrastiveLoss(*model_, tokens, config_.infoNce);
      else loss = trainingLoss(*model_, tokens, targets);  // the next-token loss (answer targets if given), or the multi-token sum
    }
    loss.loss.backward();
    stepLoss = loss.loss.detach();
  } else {
    // All micro-batches in this one call: no host round trip between them, and on a GPU no sync either.
    GradientAccumulation accumulation(*model_, config_, tokens, targets, microBatches);
    for (int64_t i = 0; i < microBatches; ++i) {
      // no_sync: only the last backward all-reduces, and its gradients already hold every micro-batch's sum.
      if (sync) sync->setSyncing(i == microBatches - 1);
      at::Tensor loss;
      {
        compat::CudaAutocast autocast(autocast_, at::kBFloat16);
        loss = accumulation.microBatchLoss(i);
      }
      loss.backward();
      stepLoss = stepLoss.defined() ? stepLoss + loss.detach() : loss.detach();
    }
  }
  if (sync) sync->finish();
  GradientClip clip = measureGradientClip(params_, config_.gradClip);
  const at::Tensor& norm = clip.norm;
  // A non-finite loss or gradient skips the update inside the optimizer, without a host round trip.
  at::Tensor nonFinite = at::logical_not(at::logical_and(stepLoss.isfinite(), norm.isfinite())).to(at::kFloat);
  std::visit([&](const auto& rate) { optimizer_->step(rate, nonFinite, clip.divisor); }, lr);
  {
    torch::NoGradGuard noGrad;
    model_->afterUpdate();
  }
  lossSum_.add_(stepLoss);
  nonFiniteSteps_.add_(nonFinite);
  return {stepLoss, norm, nonFinite};
}

StepTensors Trainer::replayStep(const at::Tensor& tokens, const at::Tensor& targets, double lr) {
  if (graph_ && graph_->accepts(tokens, targets)) {
    // The graph's products read the bf16 copies its update writes without asking whether they are current (weights
    // changed since, by a checkpoint load say, are cast again first).
    refreshStaleCopies(graphCopied_);
    const StepTensors& out = graph_->run(tokens, targets, lr);
    // A replay rewrites the weights on the device through no op their version counters see: bump them, so what
    // keys on them (a held decoder's captured graph and bf16 weight copies, decode/graphed_greedy_step) sees the change.
    for (auto& p : params_) p.unsafeGetTensorImpl()->bump_version();
    markCopiesCurrent(graphCopied_);
    return out;
  }
  // First step, or a batch of another shape: the old graph's gradients go with it. This step runs eagerly as the
  // warm-up (its own errors pass through unchanged), then the same step is captured for the next batches.
  for (auto& p : params_) p.mutable_grad() = at::Tensor();
  graph_.reset();
  auto body = [this](const at::Tensor& t, const at::Tensor& tg, const at::Tensor& lrTensor) { return runStep(t, tg, lrTensor); };
  auto graph = std::make_unique<GraphedTrainingStep>(tokens, targets, lr, body);
  StepTensors result = graph->warmUpResult();
  try {
    graph->capture(params_, body);
    graph_ = std::move(graph);
    graphCopied_ = optimizer_->copiedLastStep();  // the captured update's
  } catch (...) {
    // The step itself was taken; later steps run step by step, and step() reports the failure once it has
    // counted this one.
    captureFailure_ = describeCurrentException();
    config_.cudaGraph = false;
  }
  return result;
}

void Trainer::setGradientSync(std::shared_ptr<GradientSync> sync) {
  require(!(sync && config_.cudaGraph), "cudaGraph does not capture data-parallel steps: train with one of the two", "CONFIG_INVALID");
  gradientSync_ = std::move(sync);
}

StepResult Trainer::step(const at::Tensor& tokens, bool readBack, const at::Tensor& targets) {
  model_->train();
  double lr = learningRateAt(steps_);
  timer_.begin(tokens.device());
  StepTensors out = config_.cudaGraph ? replayStep(tokens, targets, lr) : runStep(tokens, targets, lr);
  ++steps_;
  timer_.end();
  lastLoss_ = out.loss;
  lastNorm_ = out.norm;
  ++pendingSteps_;
  if (captureFailure_) {
    ErrorInfo failure = *captureFailure_;
    captureFailure_.reset();
    fail(failure.code, "step " + std::to_string(steps_) + " was taken, but capturing it as a CUDA graph failed, so this trainer now " +
                           "trains step by step (cudaGraph off): " + failure.message);
  }

  StepResult result;
  result.step = steps_;
  result.learningRate = lr;
  // On the CPU reading costs nothing, and checking every step keeps a NaN from going unnoticed.
  if (!readBack && tokens.device().is_cuda()) return result;
  result.read = true;
  result.stepsInMean = pendingSteps_;
  result.loss = lossSum_.item<double>() / static_cast<double>(pendingSteps_);
  result.lastLoss = lastLoss_.item<double>();
  result.gradNorm = lastNorm_.item<double>();
  result.deviceMilliseconds = timer_.take();
  double nonFiniteCount = nonFiniteSteps_.item<double>();
  lossSum_.zero_();
  nonFiniteSteps_.zero_();
  pendingSteps_ = 0;
  if (nonFiniteCount > 0) {
    fail("NON_FINITE", "non-finite loss or gradient in " + std::to_string(static_cast<int64_t>(nonFiniteCount)) +
                           " of the steps up to step " + std::to_string(steps_) + "; their updates were skipped");
  }
  return result;
}

std::vector<std::pair<std::string, at::Tensor>> namedOptimizerState(const torch::nn::Module& module, const AdamW& optimizer) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  std::vector<at::Tensor> moments = optimizer.stateTensors();  // (exp_avg, exp_avg_sq) per parameter, in order
  const std::vector<at::Tensor>& counts = optimizer.stepCounts();
  size_t i = 0;
  for (const auto& item : module.named_parameters(true)) {
    out.emplace_back("exp_avg." + item.key(), moments[2 * i]);
    out.emplace_back("exp_avg_sq." + item.key(), moments[2 * i + 1]);
    out.emplace_back("step." + item.key(), counts[i]);
    ++i;
  }
  return out;
}

void loadNamedOptimizerState(const torch::nn::Module& module, AdamW& optimizer, const std::map<std::string, at::Tensor>& tensors, int64_t steps) {
  require(steps >= 0, "the optimizer state's step count must be ≥ 0", "CHECKPOINT_INVALID");
  std::vector<at::Tensor> ordered;
  std::vector<at::Tensor> counts;  // per-parameter step counts: in every checkpoint written since they are kept, or in none
  bool hasCounts = false;
  for (const auto& item : module.named_parameters(true)) hasCounts = hasCounts || tensors.count("step." + item.key()) > 0;
  for (const auto& item : module.named_parameters(true)) {
    for (const char* prefix : {"exp_avg.", "exp_avg_sq."}) {
      auto found = tensors.find(prefix + item.key());
      require(found != tensors.end(), std::string("optimizer state has no ") + prefix + item.key(), "CHECKPOINT_INVALID");
      ordered.push_back(found->second);
    }
    if (!hasCounts) continue;
    auto found = tensors.find("step." + item.key());
    require(found != tensors.end(), "optimizer state has no step." + item.key(), "CHECKPOINT_INVALID");
    counts.push_back(found->second);
  }
  require(tensors.size() == ordered.size() + counts.size(), "optimizer state holds tensors for parameters this model does not have", "CHECKPOINT_INVALID");
  optimizer.loadState(ordered, steps, counts);
}

std::vector<std::pair<std::string, at::Tensor>> Trainer::stateTensors() const { return namedOptimizerState(*model_, *optimizer_); }

void Trainer::loadState(const std::map<std::string, at::Tensor>& tensors, int64_t steps) {
  loadNamedOptimizerState(*model_, *optimizer_, tensors, steps);
  steps_ = steps;
}

EvalResult evalLoss(LanguageModel& model, const at::Tensor& tokens, bool fp32) {
  torch::NoGradGuard noGrad;
  model.eval();
  compat::CudaAutocast autocast(tokens.is_cuda() && !fp32, at::kBFloat16);
  LinearCrossEntropy loss = nextTokenLoss(model, tokens);
  EvalResult out{loss.loss.item<double>(), loss.targets.item<int64_t>()};
  require(out.targets > 0, "the batch has no target tokens (every target is the pad id)", "INVALID_ARGUMENT");
  return out;
}

}  // namespace maskmix
