// The JavaScript `Trainer` class: AdamW state and the learning-rate schedule for one model.
#pragma once

#include <napi.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bindings/model_handle.h"
#include "dist/bucketed_gradient_sync.h"
#include "train/trainer.h"

namespace maskmix {

// A TrainConfig from its JS object (lib/trainer.ts validates it first); other trainers' bindings read it too.
TrainConfig trainConfigFromJs(const Napi::Object& o);

// A trainer's optimizer state as JS `{ step, tensors: Record<string, Tensor> }` (views of the moments, no copy),
// and argument `index` of a call read back into names and tensors; every trainer's stateDict/loadStateDict use them.
struct NamedOptimizerState {
  int64_t step = 0;
  std::map<std::string, at::Tensor> tensors;
};
Napi::Object optimizerStateToJs(Napi::Env env, int64_t step, const std::vector<std::pair<std::string, at::Tensor>>& tensors);
NamedOptimizerState optimizerStateFromJs(const Napi::CallbackInfo& info, size_t index);

class TrainerWrap : public Napi::ObjectWrap<TrainerWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  // new Trainer(model, config)
  explicit TrainerWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value step(const Napi::CallbackInfo& info);
  Napi::Value learningRateAt(const Napi::CallbackInfo& info);
  Napi::Value profile(const Napi::CallbackInfo& info);
  Napi::Value stateDict(const Napi::CallbackInfo& info);
  Napi::Value loadStateDict(const Napi::CallbackInfo& info);
  Napi::Value stepsTaken(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value setProcessGroup(const Napi::CallbackInfo& info);
  Napi::Value gradientBucketLaunches(const Napi::CallbackInfo& info);

  std::shared_ptr<ModelHandle> handle_;
  std::shared_ptr<Trainer> trainer_;
  std::shared_ptr<BucketedGradientSync> sync_;  // the trainer's data-parallel sync, for its counters (null: none)
};

}  // namespace maskmix
