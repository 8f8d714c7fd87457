// One training step as one native call: forward, next-token loss (fused with the output projection), backward,
// gradient clipping, AdamW with a linear warm-up then linear decay of the learning rate. On a GPU the step runs
// under bf16 autocast with float32 master weights and never waits for the host unless the loss is read back.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "common/error.h"
#include "models/language_model.h"
#include "train/adamw.h"
#include "train/graphed_training_step.h"
#include "train/gradient_sync.h"
#include "train/info_nce.h"
#include "train/linear_cross_entropy.h"
#include "train/step_timer.h"

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
  std::string precision = "auto";  // "auto" (bf16 autocast on CUDA, fp32 on CPU), "bf16" or "fp32"
  // "next-token" (language modelling) or "infonce" (retrieval fine-tuning: each batch is samples of
  // infoNce.group sequences, see train/info_nce.h)
  std::string objective = "next-token";
  InfoNceOptions infoNce;
  // Micro-batches per optimizer step (train/gradient_accumulation.h): step() splits its batch into this many equal
  // blocks of rows, runs forward and backward on each, and updates once, as if on the whole batch at once.
  int64_t gradientAccumulation = 1;
  // Capture the whole step as one CUDA graph and replay it for later batches of the same shape
  // (train/graphed_training_step.h). Next-token steps on a CUDA device, one micro-batch, no data parallelism.
  bool cudaGraph = false;
};

// The learning rate a config's schedule gives the step with this 0-based index (linear warm-up, then linear decay),
// and whether its precision trains under bf16 autocast on `device`: shared by every trainer.
double scheduledLearningRate(const TrainConfig& config, int64_t step);
bool trainsUnderAutocast(const TrainConfig& config, const at::Device& device);

// AdamW's moments by name ("exp_avg.<parameter>", "exp_avg_sq.<parameter>") over a module's named parameters, and
// their strict restore with the step count: the optimizer state every trainer's checkpoint holds, in one format.
std::vector<std::pair<std::string, at::Tensor>> namedOptimizerState(const torch::nn::Module& module, const AdamW& optimizer);
void loadNamedOptimizerState(const torch::nn::Module& module, AdamW& optimizer, const std::map<std::string, at::Tensor>& tensors, int64_t steps);

struct StepResult {
  int64_t step = 0;             // steps taken, this one included
  double learningRate = 0;
  bool read = false;            // whether the values below were read back for this call
  double loss = 0;              // mean loss of the steps since the last read-back (this one included)
  double lastLoss = 0;          // loss of this step
  double gradNorm = 0;          // this step's gradient norm before clipping
  int64_t stepsInMean = 0;
  std::vector<double> deviceMilliseconds;  // device time of each of those steps
};

class Trainer {
 public:
  Trainer(std::shared_ptr<LanguageModel> model, TrainConfig config);
  // `readBack` false lets a GPU run ahead of the host: loss and norm stay on the device until a later step reads.
  // `targets` (optional, shaped like tokens): the tokens the loss predicts instead of `tokens` itself — a task
  // that scores only some positions (synthetic answers) sets the others to padId, which the loss ignores.
  // With gradientAccumulation k, `tokens` holds k micro-batches (rows divisible by k); data-parallel gradient
  // all-reduce then runs only in the last micro-batch's backward.
  StepResult step(const at::Tensor& tokens, bool readBack = true, const at::Tensor& targets = at::Tensor());
  double learningRateAt(int64_t step) const;  // lr used for the step with this 0-based index
  int64_t stepsTaken() const { return steps_; }
  const TrainConfig& config() const { return config_; }
  AdamW& optimizer() { return *optimizer_; }
  // Optimizer state by name ("exp_avg.<parameter>", "exp_avg_sq.<parameter>") for checkpoints, and its restore
  // together with the step count (which also fixes the learning-rate schedule's position). Restoring checks
  // names and shapes before writing anything.
  std::vector<std::pair<std::string, at::Tensor>> stateTensors() const;
  void loadState(const std::map<std::string, at::Tensor>& tensors, int64_t steps);
  // Data-parallel training: gradients are averaged across processes between backward and clipping (null: off).
  void setGradientSync(std::shared_ptr<GradientSync> sync);

 private:
  // A step's learning rate: a number, or the device scalar a captured step's replays refill.
  using LearningRate = std::variant<double, at::Tensor>;
  // One step's device work, the update and the loss accumulators included. Never waits for the host on a GPU.
  StepTensors runStep(const at::Tensor& tokens, const at::Tensor& targets, const LearningRate& lr);
  // runStep by graph replay: captures first (after a warm-up step) when there is no graph for this batch shape.
  StepTensors replayStep(const at::Tensor& tokens, const at::Tensor& targets, double lr);

  std::shared_ptr<LanguageModel> model_;
  TrainConfig config_;
  std::vector<at::Tensor> params_;
  std::unique_ptr<AdamW> optimizer_;
  bool autocast_ = false;
  int64_t steps_ = 0;
  // Device-side accumulators between read-backs.
  at::Tensor lossSum_, nonFiniteSteps_, lastLoss_, lastNorm_;
  int64_t pendingSteps_ = 0;
  StepTimer timer_;
  std::shared_ptr<GradientSync> gradientSync_;
  std::unique_ptr<GraphedTrainingStep> graph_;
  std::vector<at::Tensor> graphCopied_;  // the parameters whose bf16 copies (tensor/compute_copies.h) the graph's update writes
  std::optional<ErrorInfo> captureFailure_;  // set by a failed capture, reported (once) by the step that made it
};

// Mean next-token loss without gradients (an eval batch).
struct EvalResult {
  double loss = 0;
  int64_t targets = 0;
};
// `fp32` turns off bf16 autocast on a GPU (for exact comparisons with a float32 reference).
EvalResult evalLoss(LanguageModel& model, const at::Tensor& tokens, bool fp32 = false);

// The same loss the trainer optimises, for a model and batch (used by evalLoss and by tests). `targets`, when
// defined, replaces `tokens` as the source of the next-token targets (same shape; padId entries are ignored).
LinearCrossEntropy nextTokenLoss(LanguageModel& model, const at::Tensor& tokens, const at::Tensor& targets = at::Tensor());

}  // namespace maskmix
