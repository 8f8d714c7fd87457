// The JavaScript `Trainer` class: AdamW state and the learning-rate schedule for one model.
#pragma once

#include <napi.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bindings/model_handle.h"
#include "bindings/wrap_base.h"
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

// The synchronous methods every trainer class (Trainer, RetrievalTrainer) has, over its trainer (null once disposed:
// DISPOSED) and its model's handle (locked while the optimizer state is read or written: BUSY).
template <typename AnyTrainer>
Napi::Value trainerLearningRateAt(const Napi::CallbackInfo& info, const std::shared_ptr<AnyTrainer>& trainer) {
  return guard(info.Env(), [&]() -> Napi::Value {
    requireNotDisposed(trainer, "trainer");
    require(info.Length() > 0 && info[0].IsNumber(), "learningRateAt(step: number)");
    return Napi::Number::New(info.Env(), trainer->learningRateAt(info[0].As<Napi::Number>().Int64Value()));
  });
}

template <typename AnyTrainer>
Napi::Value trainerStepsTaken(const Napi::CallbackInfo& info, const std::shared_ptr<AnyTrainer>& trainer) {
  return guard(info.Env(), [&]() -> Napi::Value {
    requireNotDisposed(trainer, "trainer");
    return Napi::Number::New(info.Env(), static_cast<double>(trainer->stepsTaken()));
  });
}

// stateDict(): { step, tensors: Record<string, Tensor> } — views of the optimizer moments (no copy).
template <typename AnyTrainer, typename Handle>
Napi::Value trainerStateDict(const Napi::CallbackInfo& info, const std::shared_ptr<AnyTrainer>& trainer, Handle& handle) {
  return guard(info.Env(), [&]() -> Napi::Value {
    requireNotDisposed(trainer, "trainer");
    TryLock lock(handle);
    return optimizerStateToJs(info.Env(), trainer->stepsTaken(), trainer->stateTensors());
  });
}

// loadStateDict({ step, tensors }): void — strict: every moment of every parameter, with its shape.
template <typename AnyTrainer, typename Handle>
Napi::Value trainerLoadStateDict(const Napi::CallbackInfo& info, const std::shared_ptr<AnyTrainer>& trainer, Handle& handle) {
  return guard(info.Env(), [&]() -> Napi::Value {
    requireNotDisposed(trainer, "trainer");
    NamedOptimizerState state = optimizerStateFromJs(info, 0);
    TryLock lock(handle);
    trainer->loadState(state.tensors, state.step);
    return info.Env().Undefined();
  });
}

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
