// The JavaScript `RetrievalModel` and `RetrievalTrainer` classes: the indirect retrieval model of paper §6.2
// (models/retrieval_mixer.h) and its trainer (train/retrieval_trainer.h), driven through async calls.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>

#include "bindings/wrap_base.h"
#include "common/error.h"
#include "models/retrieval_mixer.h"
#include "train/retrieval_trainer.h"

namespace maskmix {

// A retrieval model shared between its JS handle, its trainers and the async calls in flight: async calls run one
// at a time in call order (CallQueue); synchronous methods that need the model fail with BUSY while any is queued.
struct RetrievalHandle {
  static constexpr const char* kNoun = "retrieval model";
  std::shared_ptr<RetrievalMixer> model;
  std::mutex mutex;
  CallQueue calls;
  double parameterCount = 0;  // counted when the model is built
  RetrievalMixer& live() { return requireNotDisposed(model, kNoun); }
};

class RetrievalModelWrap : public PrivatelyConstructed<RetrievalModelWrap, std::shared_ptr<RetrievalHandle>> {
 public:
  static Napi::Function define(Napi::Env env);
  static std::shared_ptr<RetrievalHandle> unwrap(const Napi::Value& value, const char* what);
  // createRetrievalModel(config): Promise<RetrievalModel>
  static Napi::Value create(const Napi::CallbackInfo& info);

  explicit RetrievalModelWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value logits(const Napi::CallbackInfo& info);
  Napi::Value evaluate(const Napi::CallbackInfo& info);
  Napi::Value lossGradients(const Napi::CallbackInfo& info);
  Napi::Value stateDict(const Napi::CallbackInfo& info);
  Napi::Value loadStateDict(const Napi::CallbackInfo& info);
  Napi::Value numParameters(const Napi::CallbackInfo& info);
  Napi::Value config(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<RetrievalHandle> handle_;
};

class RetrievalTrainerWrap : public Napi::ObjectWrap<RetrievalTrainerWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  // new RetrievalTrainer(model, config)
  explicit RetrievalTrainerWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value step(const Napi::CallbackInfo& info);
  Napi::Value learningRateAt(const Napi::CallbackInfo& info);
  Napi::Value stateDict(const Napi::CallbackInfo& info);
  Napi::Value loadStateDict(const Napi::CallbackInfo& info);
  Napi::Value stepsTaken(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<RetrievalHandle> handle_;
  std::shared_ptr<RetrievalTrainer> trainer_;
};

}  // namespace maskmix
