// Gradient accumulation: one optimizer step over a batch split into k micro-batches (equal blocks of rows), each
// run forward and backward on its own, so activations are those of one micro-batch. Each micro-batch's loss is
// scaled so that the gradients it adds up to are those of ONE step on the whole batch.
//
// Weighting: every term of the training loss is a mean over its (non-pad) targets, so micro-batch i's term is
// weighted by n_i / N — its own target count over the whole batch's — not by 1/k. Micro-batches with more padding
// (or fewer target-mask entries) then weigh less, exactly as their tokens would in the whole batch. Multi-token
// prediction has one such term per offset, each weighted with its own counts. InfoNCE is a mean over samples and
// every micro-batch holds as many samples, so there the weight is 1/k.
#pragma once

#include <vector>

#include "models/language_model.h"
#include "train/trainer.h"

namespace maskmix {

class GradientAccumulation {
 public:
  // `tokens` (and `targets`, when defined, shaped like tokens) is the whole batch, on the model's device; its rows
  // must divide into `microBatches` blocks (for InfoNCE, blocks of whole samples).
  GradientAccumulation(LanguageModel& model, const TrainConfig& config, const at::Tensor& tokens, const at::Tensor& targets,
                       int64_t microBatches);
  // Forward of micro-batch `index` (0-based): its loss, weighted as above; run backward on it. Summed over all
  // micro-batches the values are the loss of the whole batch.
  at::Tensor microBatchLoss(int64_t index);

 private:
  LanguageModel& model_;
  const TrainConfig& config_;
  at::Tensor tokens_, targets_;
  int64_t microBatches_;
  int64_t rows_;
  std::vector<at::Tensor> totals_;  // per loss term: targets in the whole batch (device tensors, no host sync)
};

}  // namespace maskmix
