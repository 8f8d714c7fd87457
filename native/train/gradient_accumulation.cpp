#include "train/gradient_accumulation.h"

#include "common/error.h"
#include "train/info_nce.h"
#include "train/multi_token.h"

namespace maskmix {

namespace {
// count / total in the loss's dtype (float64 for a float64 model, so exact comparisons stay exact).
at::Tensor share(const LinearCrossEntropy& term, const at::Tensor& total) {
  return term.targets.to(term.loss.scalar_type()) / total.to(term.loss.scalar_type());
}

// Targets a loss term at offset `offset` counts: the entries of source[:, offset:] that are not the pad id.
at::Tensor targetCount(const at::Tensor& source, int64_t offset, int64_t padId) {
  return source.narrow(1, offset, source.size(1) - offset).ne(padId).sum();
}
}  // namespace

GradientAccumulation::GradientAccumulation(LanguageModel& model, const TrainConfig& config, const at::Tensor& tokens,
                                           const at::Tensor& targets, int64_t microBatches)
    : model_(model), config_(config), tokens_(tokens), targets_(targets), microBatches_(microBatches) {
  require(microBatches >= 1, "gradientAccumulation must be a positive integer", "CONFIG_INVALID");
  require(tokens.size(0) % microBatches == 0,
          "with gradientAccumulation " + std::to_string(microBatches) + " a batch holds " + std::to_string(microBatches) +
              " micro-batches of equal size, but its " + std::to_string(tokens.size(0)) + " rows do not divide by " +
              std::to_string(microBatches),
          "SHAPE_MISMATCH");
  rows_ = tokens.size(0) / microBatches;
  const int64_t padId = model.config().padId;
  if (config.objective == "infonce") {
    require(rows_ % config.infoNce.group == 0,
            "with gradientAccumulation " + std::to_string(microBatches) + " each micro-batch of " + std::to_string(rows_) +
                " rows must hold whole InfoNCE samples of " + std::to_string(config.infoNce.group) + " sequences",
            "SHAPE_MISMATCH");
  } else if (model.config().predictTokens == 1) {
    totals_.push_back(targetCount(targets.defined() ? targets : tokens, model.targetOffset(), padId));
  } else {
    // The same checks and offsets as trainingLoss / multiTokenLosses.
    require(!targets.defined(), "a target mask cannot be combined with multi-token prediction (predictTokens > 1)", "INVALID_ARGUMENT");
    require(model.targetOffset() == 1, "multi-token prediction needs a next-token model, not an autoencoder", "CONFIG_INVALID");
    for (int64_t offset = 1; offset <= model.config().predictTokens && offset < tokens.size(1); ++offset) {
      totals_.push_back(targetCount(tokens, offset, padId));
    }
  }
  // A batch without targets is refused before the step; clamping keeps a 0/0 out of the graph regardless.
  for (auto& total : totals_) total = total.clamp_min(1);
}

at::Tensor GradientAccumulation::microBatchLoss(int64_t index) {
  require(index >= 0 && index < microBatches_, "micro-batch index out of range", "INTERNAL");
  at::Tensor tokens = tokens_.narrow(0, index * rows_, rows_);
  if (config_.objective == "infonce") return contrastiveLoss(model_, tokens, config_.infoNce) / static_cast<double>(microBatches_);
  if (model_.config().predictTokens == 1) {
    at::Tensor targets = targets_.defined() ? targets_.narrow(0, index * rows_, rows_) : at::Tensor();
    LinearCrossEntropy loss = nextTokenLoss(model_, tokens, targets);
    return loss.loss * share(loss, totals_[0]);
  }
  std::vector<LinearCrossEntropy> terms = multiTokenLosses(model_, tokens);
  require(terms.size() == totals_.size(), "multi-token terms and target counts disagree", "INTERNAL");
  at::Tensor sum;
  for (size_t o = 0; o < terms.size(); ++o) {
    at::Tensor weighted = terms[o].loss * share(terms[o], totals_[o]);
    sum = sum.defined() ? sum + weighted : weighted;
  }
  return sum;
}

}  // namespace maskmix
