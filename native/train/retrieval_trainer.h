// Training and evaluation of the indirect retrieval model (models/retrieval_mixer.h): one step is one native
// call — forward over a batch of Algorithm 1 samples, softmax cross-entropy against the match positions,
// backward, clipping, AdamW — with the language model's TrainConfig (schedule, AdamW, precision). The inputs are
// plain data: they never require gradients, so nothing flows back to the embeddings or the model that made them.
#pragma once

#include <memory>

#include "models/retrieval_mixer.h"
#include "train/adamw.h"
#include "train/trainer.h"

namespace maskmix {

struct RetrievalStepResult {
  int64_t step = 0;  // steps taken, this one included
  double learningRate = 0;
  double loss = 0;
  double gradNorm = 0;  // before clipping
};

class RetrievalTrainer {
 public:
  RetrievalTrainer(std::shared_ptr<RetrievalMixer> model, TrainConfig config);
  // inputs [b, c, d] and labels [b] (int64, 1 … c − 1) on the model's device. Fails NON_FINITE (the update
  // skipped) when the loss or the gradient is not finite.
  RetrievalStepResult step(const at::Tensor& inputs, const at::Tensor& labels);
  double learningRateAt(int64_t step) const { return scheduledLearningRate(config_, step); }
  int64_t stepsTaken() const { return steps_; }
  // Optimizer state for checkpoints, named and restored as the language-model Trainer's (namedOptimizerState): the
  // step count also fixes the learning-rate schedule's position. Fails CHECKPOINT_INVALID, changing nothing, for
  // a state of another model.
  std::vector<std::pair<std::string, at::Tensor>> stateTensors() const { return namedOptimizerState(*model_, *optimizer_); }
  void loadState(const std::map<std::string, at::Tensor>& tensors, int64_t steps);

 private:
  std::shared_ptr<RetrievalMixer> model_;
  TrainConfig config_;
  std::vector<at::Tensor> params_;
  std::unique_ptr<AdamW> optimizer_;
  bool autocast_ = false;
  int64_t steps_ = 0;
};

// Summed cross-entropy and count of samples whose highest logit is the match, without gradients. `fp32` turns
// off bf16 autocast on a GPU.
struct RetrievalEvalResult {
  double lossSum = 0;
  int64_t correct = 0;
  int64_t samples = 0;
};
RetrievalEvalResult evaluateRetrievalBatch(RetrievalMixer& model, const at::Tensor& inputs, const at::Tensor& labels, bool fp32);

}  // namespace maskmix
