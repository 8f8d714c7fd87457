#include "bindings/retrieval_wrap.h"

#include <torch/utils.h>

#include <cmath>
#include <functional>
#include <utility>

#include "bindings/parameter_gradients.h"
#include "bindings/trainer_wrap.h"
#include "common/js_object.h"
#include "common/promise_worker.h"
#include "tensor/tensor_wrap.h"
#include "tensor/typed_array.h"

namespace maskmix {

namespace {
RetrievalMixerConfig configFromJs(const Napi::Object& o) {
  RetrievalMixerConfig c;
  c.dModel = integerField(o, "dModel", 0);
  c.nLayers = integerField(o, "nLayers", 0);
  c.context = integerField(o, "context", 0);
  c.ffMultiplier = integerField(o, "ffMultiplier", c.ffMultiplier);
  double seed = numberField(o, "seed", 0);
  require(seed >= 0 && seed == std::floor(seed), "seed must be a non-negative integer", "CONFIG_INVALID");
  c.seed = static_cast<uint64_t>(seed);
  c.device = stringField(o, "device", c.device);
  c.dtype = stringField(o, "dtype", c.dtype);
  return c;
}

Napi::Object configToJs(Napi::Env env, const RetrievalMixerConfig& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", "retrieval-mixer");
  o.Set("dModel", static_cast<double>(c.dModel));
  o.Set("nLayers", static_cast<double>(c.nLayers));
  o.Set("context", static_cast<double>(c.context));
  o.Set("ffMultiplier", static_cast<double>(c.ffMultiplier));
  o.Set("seed", static_cast<double>(c.seed));
  o.Set("device", c.device);
  o.Set("dtype", c.dtype);
  return o;
}

// A batch of samples: inputs [b, c, d] (Float32Array or Float64Array, row-major) and, when `withLabels`, the
// match positions (Int32Array, 1 … c − 1). Read and their shapes checked on the JS thread (the config only: no
// lock, so the call queues behind running ones); the
// values are checked in onDevice, on the worker (a scan over up to b·c·d floats has no place on the event loop).
struct Samples {
  at::Tensor inputs, labels;
};
Samples readSamples(const Napi::CallbackInfo& info, RetrievalHandle& handle, bool withLabels) {
  const RetrievalMixerConfig& config = handle.live().config();
  size_t batchArg = withLabels ? 2 : 1;
  int64_t batch = positiveIntegerArg(info, batchArg, "batch");
  require(info.Length() > 0 && info[0].IsTypedArray(), "inputs must be a Float32Array or Float64Array of [batch, context, dModel]");
  Samples s;
  s.inputs = tensorFromTypedArray(info[0].As<Napi::TypedArray>(), {batch, config.context, config.dModel}, "");
  require(at::isFloatingType(s.inputs.scalar_type()), "inputs must be a Float32Array or Float64Array", "DTYPE_MISMATCH");
  if (withLabels) {
    require(info.Length() > 1 && info[1].IsTypedArray() && info[1].As<Napi::TypedArray>().TypedArrayType() == napi_int32_array,
            "labels must be an Int32Array of match positions");
    s.labels = tensorFromTypedArray(info[1].As<Napi::TypedArray>(), {static_cast<int64_t>(info[1].As<Napi::TypedArray>().ElementLength())}, "");
    require(s.labels.size(0) == batch, "labels must hold one position per sample (" + std::to_string(batch) + "), got " + std::to_string(s.labels.size(0)),
            "SHAPE_MISMATCH");
    s.labels = s.labels.to(at::kLong);
    checkRetrievalLabels(s.labels, config.context);
  }
  return s;
}

Samples onDevice(const Samples& s, const RetrievalMixer& model) {
  require(s.inputs.isfinite().all().item<bool>(), "inputs hold a non-finite value (NaN or ±Infinity)", "INVALID_ARGUMENT");
  at::Device device(model.config().device);
  at::ScalarType dtype = model.config().dtype == "float64" ? at::kDouble : at::kFloat;
  return {s.inputs.to(device, dtype), s.labels.defined() ? s.labels.to(device) : at::Tensor()};
}

using Work = std::function<void(RetrievalMixer&)>;
using Settle = PromiseWorker::Settle;
}  // namespace

Napi::Function RetrievalModelWrap::define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "RetrievalModel",
                                   {
                                       InstanceMethod<&RetrievalModelWrap::logits>("logits"),
                                       InstanceMethod<&RetrievalModelWrap::evaluate>("evaluate"),
                                       InstanceMethod<&RetrievalModelWrap::lossGradients>("lossGradients"),
                                       InstanceMethod<&RetrievalModelWrap::stateDict>("stateDict"),
                                       InstanceMethod<&RetrievalModelWrap::loadStateDict>("loadStateDict"),
                                       InstanceMethod<&RetrievalModelWrap::dispose>("dispose"),
                                       InstanceAccessor<&RetrievalModelWrap::numParameters>("numParameters"),
                                       InstanceAccessor<&RetrievalModelWrap::config>("config"),
                                   });
  return remember(env, cls);
}

std::shared_ptr<RetrievalHandle> RetrievalModelWrap::unwrap(const Napi::Value& value, const char* what) {
  return unwrapInstance(value, what, "RetrievalModel")->handle_;
}

RetrievalModelWrap::RetrievalModelWrap(const Napi::CallbackInfo& info) : PrivatelyConstructed(info) {
  guard(info.Env(), [&] {
    require(hasToken(info), "use createRetrievalModel(config) to make a RetrievalModel");
    handle_ = takePending();
  });
}

Napi::Value RetrievalModelWrap::create(const Napi::CallbackInfo& info) {
  return asyncCall(info.Env(), [&] {
    RetrievalMixerConfig config = configFromJs(objectArg(info, 0, "config"));
    auto handle = std::make_shared<RetrievalHandle>();
    return PromiseWorker::start(
        info.Env(),
        [handle, config] {
          handle->model = buildRetrievalMixer(config);
          for (const auto& p : handle->model->parameters()) handle->parameterCount += static_cast<double>(p.numel());
        },
        [handle](Napi::Env e) -> Napi::Value { return construct(e, handle); });
  });
}

// logits(inputs, batch): Promise<Float32Array | Float64Array> — [batch, c − 1] in the model's dtype; entry k
// scores candidate position k + 1.
Napi::Value RetrievalModelWrap::logits(const Napi::CallbackInfo& info) {
  return asyncHandleCall(info, handle_, [&] {
    Samples samples = readSamples(info, *handle_, false);
    auto out = std::make_shared<at::Tensor>();
    Work work = [samples, out](RetrievalMixer& model) {
      torch::NoGradGuard noGrad;
      model.eval();
      *out = model.logits(onDevice(samples, model).inputs).cpu().contiguous();
    };
    Settle settle = [out](Napi::Env e) -> Napi::Value { return typedArrayFromTensor(e, *out); };
    return std::make_pair(work, settle);
  });
}

// evaluate(inputs, labels, batch, { precision }): Promise<{ lossSum, correct, samples }>
Napi::Value RetrievalModelWrap::evaluate(const Napi::CallbackInfo& info) {
  return asyncHandleCall(info, handle_, [&] {
    Samples samples = readSamples(info, *handle_, true);
    bool fp32 = stringField(objectArg(info, 3, "options"), "precision", "auto") == "fp32";
    auto out = std::make_shared<RetrievalEvalResult>();
    Work work = [samples, fp32, out](RetrievalMixer& model) {
      Samples s = onDevice(samples, model);
      *out = evaluateRetrievalBatch(model, s.inputs, s.labels, fp32);
    };
    Settle settle = [out](Napi::Env e) -> Napi::Value {
      Napi::Object o = Napi::Object::New(e);
      o.Set("lossSum", out->lossSum);
      o.Set("correct", static_cast<double>(out->correct));
      o.Set("samples", static_cast<double>(out->samples));
      return o;
    };
    return std::make_pair(work, settle);
  });
}

// lossGradients(inputs, labels, batch): Promise<{ loss, gradients: Record<string, Tensor>, inputsRequireGrad }>
// — the training loss and d loss / d parameter for every parameter, without an update (for checks). The inputs are
// plain data: `inputsRequireGrad` reports that autograd never tracked them.
Napi::Value RetrievalModelWrap::lossGradients(const Napi::CallbackInfo& info) {
  return asyncHandleCall(info, handle_, [&] {
    Samples samples = readSamples(info, *handle_, true);
    struct Out {
      double loss = 0;
      bool inputsRequireGrad = false;
      NamedGradients grads;
    };
    auto out = std::make_shared<Out>();
    Work work = [samples, out](RetrievalMixer& model) {
      model.train();
      clearParameterGradients(model);
      Samples s = onDevice(samples, model);
      at::Tensor loss = retrievalLoss(model.logits(s.inputs), s.labels);
      loss.backward();
      out->loss = loss.item<double>();
      out->inputsRequireGrad = s.inputs.requires_grad() || s.inputs.grad().defined();
      out->grads = takeParameterGradients(model);
    };
    Settle settle = [out](Napi::Env e) -> Napi::Value {
      Napi::Object o = lossGradientsToJs(e, out->loss, out->grads);
      o.Set("inputsRequireGrad", out->inputsRequireGrad);
      return o;
    };
    return std::make_pair(work, settle);
  });
}

// stateDict(): Record<string, Tensor> — detached views of the live parameters (no copy).
Napi::Value RetrievalModelWrap::stateDict(const Napi::CallbackInfo& info) {
  return withLiveModel(info, *handle_, [&](RetrievalMixer& model) -> Napi::Value {
    Napi::Object out = Napi::Object::New(info.Env());
    for (const auto& item : model.named_parameters(true)) out.Set(item.key(), TensorWrap::wrap(info.Env(), item.value().detach()));
    return out;
  });
}

// loadStateDict(tensors: Record<string, Tensor>): void — strict: names and shapes must match exactly.
Napi::Value RetrievalModelWrap::loadStateDict(const Napi::CallbackInfo& info) {
  return withLockedHandle(info, *handle_, [&](RetrievalHandle& handle) -> Napi::Value {
    Napi::Object obj = objectArg(info, 0, "tensors");
    std::map<std::string, at::Tensor> tensors;
    Napi::Array names = obj.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      std::string name = names.Get(i).As<Napi::String>().Utf8Value();
      tensors[name] = TensorWrap::unwrap(obj.Get(name), name.c_str());
    }
    loadModuleState(handle.live(), tensors);
    return info.Env().Undefined();
  });
}

// numParameters and config are fixed when the model is built: they answer without the lock (withModelFacts).
Napi::Value RetrievalModelWrap::numParameters(const Napi::CallbackInfo& info) {
  return withModelFacts(info, *handle_, [&](RetrievalMixer&) -> Napi::Value { return Napi::Number::New(info.Env(), handle_->parameterCount); });
}

Napi::Value RetrievalModelWrap::config(const Napi::CallbackInfo& info) {
  return withModelFacts(info, *handle_, [&](RetrievalMixer& model) -> Napi::Value { return configToJs(info.Env(), model.config()); });
}

Napi::Value RetrievalModelWrap::dispose(const Napi::CallbackInfo& info) {
  return withLockedHandle(info, *handle_, [&](RetrievalHandle& handle) -> Napi::Value {
    handle.model.reset();
    return info.Env().Undefined();
  });
}

Napi::Function RetrievalTrainerWrap::define(Napi::Env env) {
  return DefineClass(env, "RetrievalTrainer",
                     {
                         InstanceMethod<&RetrievalTrainerWrap::step>("step"),
                         InstanceMethod<&RetrievalTrainerWrap::learningRateAt>("learningRateAt"),
                         InstanceMethod<&RetrievalTrainerWrap::stateDict>("stateDict"),
                         InstanceMethod<&RetrievalTrainerWrap::loadStateDict>("loadStateDict"),
                         InstanceMethod<&RetrievalTrainerWrap::dispose>("dispose"),
                         InstanceAccessor<&RetrievalTrainerWrap::stepsTaken>("stepsTaken"),
                     });
}

RetrievalTrainerWrap::RetrievalTrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RetrievalTrainerWrap>(info) {
  guard(info.Env(), [&] {
    require(info.Length() >= 1, "new RetrievalTrainer(model, config)");
    handle_ = RetrievalModelWrap::unwrap(info[0], "model");
    TrainConfig config = trainConfigFromJs(objectArg(info, 1, "config"));
    TryLock lock(*handle_);
    trainer_ = std::make_shared<RetrievalTrainer>(handle_->model, config);
  });
}

// step(inputs, labels, batch): Promise<{ step, learningRate, loss, gradNorm }>
Napi::Value RetrievalTrainerWrap::step(const Napi::CallbackInfo& info) {
  return asyncHandleCall(info, handle_, [&] {
    requireNotDisposed(trainer_, "trainer");
    Samples samples = readSamples(info, *handle_, true);
    auto trainer = trainer_;
    auto out = std::make_shared<RetrievalStepResult>();
    Work work = [trainer, samples, out](RetrievalMixer& model) {
      Samples s = onDevice(samples, model);
      *out = trainer->step(s.inputs, s.labels);
    };
    Settle settle = [out](Napi::Env e) -> Napi::Value {
      Napi::Object o = Napi::Object::New(e);
      o.Set("step", static_cast<double>(out->step));
      o.Set("learningRate", out->learningRate);
      o.Set("loss", out->loss);
      o.Set("gradNorm", out->gradNorm);
      return o;
    };
    return std::make_pair(work, settle);
  });
}

// stateDict/loadStateDict/learningRateAt/stepsTaken: as every trainer class (trainer_wrap.h); stateDict names the
// moments as the language-model Trainer's.
Napi::Value RetrievalTrainerWrap::stateDict(const Napi::CallbackInfo& info) { return trainerStateDict(info, trainer_, *handle_); }
Napi::Value RetrievalTrainerWrap::loadStateDict(const Napi::CallbackInfo& info) { return trainerLoadStateDict(info, trainer_, *handle_); }
Napi::Value RetrievalTrainerWrap::learningRateAt(const Napi::CallbackInfo& info) { return trainerLearningRateAt(info, trainer_); }
Napi::Value RetrievalTrainerWrap::stepsTaken(const Napi::CallbackInfo& info) { return trainerStepsTaken(info, trainer_); }

Napi::Value RetrievalTrainerWrap::dispose(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    TryLock lock(*handle_);
    trainer_.reset();
    return info.Env().Undefined();
  });
}

}  // namespace maskmix
