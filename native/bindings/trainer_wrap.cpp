#include "bindings/trainer_wrap.h"

#include "bindings/model_wrap.h"
#include "bindings/process_group_wrap.h"
#include "bindings/wrap_base.h"
#include "common/js_object.h"
#include "common/promise_worker.h"
#include "tensor/compute_copies.h"
#include "tensor/tensor_wrap.h"
#include "tensor/typed_array.h"
#include "train/step_profiler.h"

namespace maskmix {

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
  c.precision = stringField(o, "precision", c.precision);
  c.objective = stringField(o, "objective", c.objective);
  c.infoNce.group = integerField(o, "infoNceGroup", c.infoNce.group);
  c.infoNce.temperature = numberField(o, "infoNceTemperature", c.infoNce.temperature);
  c.infoNce.fromEnd = embeddingFromEnd(stringField(o, "embeddingToken", "second-to-last"));
  c.gradientAccumulation = integerField(o, "gradientAccumulation", c.gradientAccumulation);
  c.cudaGraph = booleanField(o, "cudaGraph", c.cudaGraph);
  return c;
}

Napi::Function TrainerWrap::define(Napi::Env env) {
  return DefineClass(env, "Trainer",
                     {
                         InstanceMethod<&TrainerWrap::step>("step"),
                         InstanceMethod<&TrainerWrap::learningRateAt>("learningRateAt"),
                         InstanceMethod<&TrainerWrap::profile>("profile"),
                         InstanceMethod<&TrainerWrap::stateDict>("stateDict"),
                         InstanceMethod<&TrainerWrap::loadStateDict>("loadStateDict"),
                         InstanceMethod<&TrainerWrap::dispose>("dispose"),
                         InstanceMethod<&TrainerWrap::setProcessGroup>("setProcessGroup"),
                         InstanceAccessor<&TrainerWrap::stepsTaken>("stepsTaken"),
                         InstanceAccessor<&TrainerWrap::gradientBucketLaunches>("gradientBucketLaunches"),
                     });
}

TrainerWrap::TrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerWrap>(info) {
  guard(info.Env(), [&] {
    require(info.Length() >= 1, "new Trainer(model, config)");
    handle_ = ModelWrap::unwrap(info[0], "model");
    TrainConfig config = trainConfigFromJs(objectArg(info, 1, "config"));
    TryLock lock(*handle_);
    handle_->live();  // DISPOSED here: the Trainer reads the model's config as it is made
    trainer_ = std::make_shared<Trainer>(handle_->model, config);
  });
}

// True when some row has a target (positions offset..t-1: 1 for language models, 0 for autoencoders) other than
// the pad id: a batch without one teaches nothing and would divide by zero. Checked here, on the host copy, so the
// answer is the same on every device.
bool hasTargets(const at::Tensor& tokens, int64_t padId, int64_t offset) {
  return tokens.narrow(1, offset, tokens.size(1) - offset).ne(padId).any().item<bool>();
}

// step(tokens: Int32Array, batch, { readBack, targets? }): Promise<StepResult>; see TrainStepResult in lib/native.ts.
// `targets` (Int32Array shaped like tokens) are the tokens the loss predicts; padId entries are not scored.
Napi::Value TrainerWrap::step(const Napi::CallbackInfo& info) {
  return asyncHandleCall(info, handle_, [&] {
    requireNotDisposed(trainer_, "trainer");
    at::Tensor tokens;
    at::Tensor targets;
    bool readBack = true;
    {
      LanguageModel& model = handle_->live();  // its config only: no lock, the call queues (asyncHandleCall)
      int64_t batch = positiveIntegerArg(info, 1, "batch");
      tokens = tokensFromJs(info[0], batch, model.config().vocabSize, "tokens");
      require(tokens.size(1) >= 2 && tokens.size(1) <= model.config().context,
              "training sequences must hold 2.." + std::to_string(model.config().context) + " tokens, got " +
                  std::to_string(tokens.size(1)),
              "SHAPE_MISMATCH");
      const TrainConfig& config = trainer_->config();
      Napi::Object options = objectArg(info, 2, "options");
      readBack = booleanField(options, "readBack", true);
      Napi::Value given = options.Get("targets");
      if (!given.IsUndefined()) {
        require(config.objective != "infonce", "a target mask has no meaning for the InfoNCE objective", "INVALID_ARGUMENT");
        targets = tokensFromJs(given, batch, model.config().vocabSize, "targets");
        require(targets.sizes() == tokens.sizes(), "targets must hold as many tokens as tokens", "SHAPE_MISMATCH");
      }
      const int64_t micro = config.gradientAccumulation;
      require(batch % micro == 0,
              "with gradientAccumulation " + std::to_string(micro) + " a step's batch holds " + std::to_string(micro) +
                  " equal micro-batches, but " + std::to_string(batch) + " rows do not divide by " + std::to_string(micro),
              "SHAPE_MISMATCH");
      if (config.objective == "infonce" && micro > 1) {
        require((batch / micro) % config.infoNce.group == 0,
                "with gradientAccumulation " + std::to_string(micro) + " each micro-batch of " + std::to_string(batch / micro) +
                    " rows must hold whole InfoNCE samples of " + std::to_string(config.infoNce.group) + " sequences",
                "SHAPE_MISMATCH");
      }
      if (config.objective == "infonce") {
        require(batch % config.infoNce.group == 0,
                "an InfoNCE batch holds whole samples of " + std::to_string(config.infoNce.group) + " sequences, got " + std::to_string(batch),
                "SHAPE_MISMATCH");
      } else {
        require(hasTargets(targets.defined() ? targets : tokens, model.config().padId, model.targetOffset()),
                "the batch has no target tokens (every target is the pad id)");
      }
    }
    auto trainer = trainer_;
    auto out = std::make_shared<StepResult>();
    auto work = [trainer, tokens, targets, readBack, out](LanguageModel& model) {
      at::Device device(model.config().device);
      // Pinned host memory lets the copy to the GPU run asynchronously with the host.
      at::Tensor source = device.is_cuda() ? tokens.pin_memory() : tokens;
      at::Tensor targetSource = targets.defined() && device.is_cuda() ? targets.pin_memory() : targets;
      *out = trainer->step(source.to(device, /*non_blocking=*/true), readBack,
                           targets.defined() ? targetSource.to(device, /*non_blocking=*/true) : at::Tensor());
    };
    auto settle = [out](Napi::Env e) -> Napi::Value {
      Napi::Object o = Napi::Object::New(e);
      o.Set("step", static_cast<double>(out->step));
      o.Set("learningRate", out->learningRate);
      if (out->read) {
        o.Set("loss", out->loss);
        o.Set("lastLoss", out->lastLoss);
        o.Set("gradNorm", out->gradNorm);
        o.Set("stepsInMean", static_cast<double>(out->stepsInMean));
        Napi::Array times = Napi::Array::New(e, out->deviceMilliseconds.size());
        for (size_t i = 0; i < out->deviceMilliseconds.size(); ++i) times.Set(static_cast<uint32_t>(i), out->deviceMilliseconds[i]);
        o.Set("deviceMilliseconds", times);
      }
      return o;
    };
    return std::make_pair(work, settle);
  });
}

// profile(tokens, batch, steps, path): Promise<void> — runs `steps` training steps under libtorch's profiler and
// writes a Chrome trace (CUDA builds).
Napi::Value TrainerWrap::profile(const Napi::CallbackInfo& info) {
  return asyncHandleCall(info, handle_, [&] {
    requireNotDisposed(trainer_, "trainer");
    at::Tensor tokens;
    int64_t steps = 0;
    std::string path;
    {
      LanguageModel& model = handle_->live();  // its config only: no lock, the call queues (asyncHandleCall)
      tokens = tokensFromJs(info[0], positiveIntegerArg(info, 1, "batch"), model.config().vocabSize, "tokens");
      steps = positiveIntegerArg(info, 2, "steps");
      require(info.Length() > 3 && info[3].IsString(), "path must be a string");
      path = info[3].As<Napi::String>().Utf8Value();
    }
    auto trainer = trainer_;
    auto work = [trainer, tokens, steps, path](LanguageModel& model) {
      at::Tensor onDevice = tokens.to(at::Device(model.config().device));
      profileToFile([&] { for (int64_t i = 0; i < steps; ++i) trainer->step(onDevice, i == steps - 1); }, path);
    };
    auto settle = [](Napi::Env e) -> Napi::Value { return e.Undefined(); };
    return std::make_pair(work, settle);
  });
}

Napi::Object optimizerStateToJs(Napi::Env env, int64_t step, const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  Napi::Object named = Napi::Object::New(env);
  for (const auto& [name, tensor] : tensors) named.Set(name, TensorWrap::wrap(env, tensor.detach()));
  Napi::Object out = Napi::Object::New(env);
  out.Set("step", static_cast<double>(step));
  out.Set("tensors", named);
  return out;
}

NamedOptimizerState optimizerStateFromJs(const Napi::CallbackInfo& info, size_t index) {
  Napi::Object state = objectArg(info, index, "state");
  NamedOptimizerState out;
  out.step = integerField(state, "step", -1);
  require(state.Has("tensors") && state.Get("tensors").IsObject(), "state.tensors must be an object of Tensors");
  Napi::Object obj = state.Get("tensors").As<Napi::Object>();
  Napi::Array names = obj.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    out.tensors[name] = TensorWrap::unwrap(obj.Get(name), name.c_str());
  }
  return out;
}

// stateDict/loadStateDict/learningRateAt/stepsTaken: as every trainer class (trainer_wrap.h).
Napi::Value TrainerWrap::stateDict(const Napi::CallbackInfo& info) { return trainerStateDict(info, trainer_, *handle_); }
Napi::Value TrainerWrap::loadStateDict(const Napi::CallbackInfo& info) { return trainerLoadStateDict(info, trainer_, *handle_); }
Napi::Value TrainerWrap::learningRateAt(const Napi::CallbackInfo& info) { return trainerLearningRateAt(info, trainer_); }
Napi::Value TrainerWrap::stepsTaken(const Napi::CallbackInfo& info) { return trainerStepsTaken(info, trainer_); }

// gradientBucketLaunches: number — bucket all-reduces started by the current process group's sync (0 without one).
Napi::Value TrainerWrap::gradientBucketLaunches(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), sync_ ? static_cast<double>(sync_->bucketLaunches()) : 0.0);
  });
}

Napi::Value TrainerWrap::dispose(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    TryLock lock(*handle_);
    trainer_.reset();
    sync_.reset();
    dropFreedCopies();  // the bf16 copies of weights only the trainer still held
    return info.Env().Undefined();
  });
}

// setProcessGroup(group | null, { bucketBytes }): number — data-parallel training over `group` (null turns it off).
// Returns how many gradient buckets the parameters were split into (0 when off). No collective runs here: the
// first step broadcasts rank 0's weights.
Napi::Value TrainerWrap::setProcessGroup(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    requireNotDisposed(trainer_, "trainer");
    TryLock lock(*handle_);
    std::vector<at::Tensor> params = handle_->live().parameters();
    std::shared_ptr<BucketedGradientSync> sync = makeGradientSync(info[0], info[1], std::move(params));
    trainer_->setGradientSync(sync);
    sync_ = sync;
    return Napi::Number::New(info.Env(), sync ? static_cast<double>(sync->numBuckets()) : 0.0);
  });
}

}  // namespace maskmix
