#include "bindings/trainer_wrap.h"

#include "bindings/model_wrap.h"
#include "common/js_object.h"
#include "common/promise_worker.h"
#include "tensor/typed_array.h"

namespace maskmix {

namespace {
TrainConfig trainConfigFromJs(const Napi::Object& o) {
  TrainConfig c;
  c.learningRate = numberField(o, "learningRate", c.learningRate);
  c.warmupSteps = integerField(o, "warmupSteps", c.warmupSteps);
  c.totalSteps = integerField(o, "totalSteps", c.totalSteps);
  c.minLrRatio = numberField(o, "minLrRatio", c.minLrRatio);
  c.weightDecay = numberField(o, "weightDecay", c.weightDecay);
  c.beta1 = numberField(o, "beta1", c.beta1);
  c.beta2 = numberField(o, "beta2", c.beta2);
  c.epsilon = numberField(o, "epsilon", c.epsilon);
  c.gradClip = numberField(o, "gradClip", c.gradClip);
  return c;
}
}  // namespace

Napi::Function TrainerWrap::define(Napi::Env env) {
  return DefineClass(env, "Trainer",
                     {
                         InstanceMethod<&TrainerWrap::step>("step"),
                         InstanceMethod<&TrainerWrap::learningRateAt>("learningRateAt"),
                         InstanceMethod<&TrainerWrap::dispose>("dispose"),
                         InstanceAccessor<&TrainerWrap::stepsTaken>("stepsTaken"),
                     });
}

TrainerWrap::TrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerWrap>(info) {
  guard(info.Env(), [&] {
    require(info.Length() >= 1, "new Trainer(model, config)");
    handle_ = ModelWrap::unwrap(info[0], "model");
    TrainConfig config = trainConfigFromJs(objectArg(info, 1, "config"));
    TryLock lock(*handle_);
    trainer_ = std::make_shared<Trainer>(handle_->model ? handle_->model : nullptr, config);
    require(handle_->model != nullptr, "model was disposed", "DISPOSED");
  });
}

// step(tokens: Int32Array, batch): Promise<{ loss, gradNorm, learningRate, step, targets }>
Napi::Value TrainerWrap::step(const Napi::CallbackInfo& info) {
  try {
    require(trainer_ != nullptr, "trainer was disposed", "DISPOSED");
    at::Tensor tokens;
    {
      TryLock lock(*handle_);
      LanguageModel& model = handle_->live();
      int64_t batch = positiveIntegerArg(info, 1, "batch");
      tokens = tokensFromJs(info[0], batch, model.config().vocabSize, "tokens");
      require(tokens.size(1) >= 2 && tokens.size(1) <= model.config().context,
              "training sequences must hold 2.." + std::to_string(model.config().context) + " tokens, got " +
                  std::to_string(tokens.size(1)),
              "SHAPE_MISMATCH");
    }
    auto handle = handle_;
    auto trainer = trainer_;
    auto out = std::make_shared<StepResult>();
    return PromiseWorker::start(
        info.Env(),
        [handle, trainer, tokens, out] {
          std::lock_guard<std::mutex> lock(handle->mutex);
          LanguageModel& model = handle->live();
          *out = trainer->step(tokens.to(at::Device(model.config().device)));
        },
        [out](Napi::Env e) -> Napi::Value {
          Napi::Object o = Napi::Object::New(e);
          o.Set("loss", out->loss);
          o.Set("gradNorm", out->gradNorm);
          o.Set("learningRate", out->learningRate);
          o.Set("step", static_cast<double>(out->step));
          o.Set("targets", static_cast<double>(out->targets));
          return o;
        });
  } catch (...) {
    auto deferred = Napi::Promise::Deferred::New(info.Env());
    deferred.Reject(makeJsError(info.Env(), describeCurrentException()).Value());
    return deferred.Promise();
  }
}

Napi::Value TrainerWrap::learningRateAt(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    require(trainer_ != nullptr, "trainer was disposed", "DISPOSED");
    require(info.Length() > 0 && info[0].IsNumber(), "learningRateAt(step: number)");
    return Napi::Number::New(info.Env(), trainer_->learningRateAt(info[0].As<Napi::Number>().Int64Value()));
  });
}

Napi::Value TrainerWrap::stepsTaken(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    require(trainer_ != nullptr, "trainer was disposed", "DISPOSED");
    return Napi::Number::New(info.Env(), static_cast<double>(trainer_->stepsTaken()));
  });
}

Napi::Value TrainerWrap::dispose(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    TryLock lock(*handle_);
    trainer_.reset();
    return info.Env().Undefined();
  });
}

}  // namespace maskmix
