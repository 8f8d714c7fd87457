// One training step as one native call: forward, next-token loss, backward, gradient clipping, AdamW with a
// linear warm-up then linear decay of the learning rate.
#pragma once

#include <torch/optim/adamw.h>

#include <memory>

#include "models/language_model.h"

namespace maskmix {

struct TrainConfig {
  double learningRate = 5e-4;
  int64_t warmupSteps = 0;
  int64_t totalSteps = 0;     // decay reaches minLrRatio·learningRate here; 0 = constant after warm-up
  double minLrRatio = 0.0;
  double weightDecay = 0.0;   // the reference trains with the Hugging Face Trainer default, 0
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double gradClip = 1.0;      // max global L2 norm; 0 disables clipping
};

struct StepResult {
  double loss = 0;
  double gradNorm = 0;  // before clipping
  double learningRate = 0;
  int64_t step = 0;     // steps taken, this one included
  int64_t targets = 0;
};

class Trainer {
 public:
  Trainer(std::shared_ptr<LanguageModel> model, TrainConfig config);
  StepResult step(const at::Tensor& tokens);
  double learningRateAt(int64_t step) const;  // lr used for the step with this 0-based index
  int64_t stepsTaken() const { return steps_; }
  const TrainConfig& config() const { return config_; }

 private:
  std::shared_ptr<LanguageModel> model_;
  TrainConfig config_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  int64_t steps_ = 0;
};

// Mean next-token loss without gradients (an eval batch).
struct EvalResult {
  double loss = 0;
  int64_t targets = 0;
};
EvalResult evalLoss(LanguageModel& model, const at::Tensor& tokens);

}  // namespace maskmix
