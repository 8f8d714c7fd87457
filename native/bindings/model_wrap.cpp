#include "bindings/model_wrap.h"

#include <torch/utils.h>
#include <torch/types.h>

#include <functional>
#include <utility>

#include "common/js_object.h"
#include "analysis/inversion.h"
#include "bindings/parameter_gradients.h"
#include "common/torch_compat.h"
#include "common/promise_worker.h"
#include "common/torch_compat.h"
#include "decode/decoder.h"
#include "tensor/compute_copies.h"
#include "tensor/tensor_wrap.h"
#include "tensor/typed_array.h"
#include "train/info_nce.h"
#include "train/log_probs.h"
#include "train/multi_token.h"
#include "train/sampling.h"
#include "train/trainer.h"

namespace maskmix {

namespace {

ModelConfig configFromJs(const Napi::Object& obj) {
  ModelConfig c;
  c.kind = stringField(obj, "kind", c.kind);
  c.vocabSize = integerField(obj, "vocabSize", 0);
  c.dModel = integerField(obj, "dModel", 0);
  c.nLayers = integerField(obj, "nLayers", 0);
  c.context = integerField(obj, "context", 0);
  c.ffMultiplier = integerField(obj, "ffMultiplier", c.ffMultiplier);
  c.padId = integerField(obj, "padId", c.padId);
  double seed = numberField(obj, "seed", 0);
  require(seed >= 0 && seed == std::floor(seed), "seed must be a non-negative integer", "CONFIG_INVALID");
  c.seed = static_cast<uint64_t>(seed);
  c.nHeads = integerField(obj, "nHeads", c.nHeads);
  c.intermediateSize = integerField(obj, "intermediateSize", c.intermediateSize);
  c.ropeTheta = numberField(obj, "ropeTheta", c.ropeTheta);
  c.normEps = numberField(obj, "normEps", c.normEps);
  c.device = stringField(obj, "device", c.device);
  c.dtype = stringField(obj, "dtype", c.dtype);
  c.structure = stringField(obj, "structure", c.structure);
  c.kernelSize = integerField(obj, "kernelSize", c.kernelSize);
  c.variant = stringField(obj, "variant", c.variant);
  c.blocks = stringField(obj, "blocks", c.blocks);
  c.fused = booleanField(obj, "fused", c.fused);
  c.predictTokens = integerField(obj, "predictTokens", c.predictTokens);
  if (c.kind == "mixer") {
    c.mixerHeads = integerField(obj, "nHeads", c.mixerHeads);
    c.mixerKernel = integerField(obj, "kernelSize", c.mixerKernel);
    c.mixingExpansion = numberField(obj, "mixingExpansion", c.mixingExpansion);
    c.mixingSoftmax = booleanField(obj, "mixingSoftmax", c.mixingSoftmax);
    c.bidirectional = booleanField(obj, "bidirectional", c.bidirectional);
  }
  c.pattern = stringField(obj, "pattern", c.pattern);
  c.order = integerField(obj, "order", c.order);
  c.window = integerField(obj, "window", c.window);
  c.coefficients = stringField(obj, "coefficients", c.coefficients);
  c.projections = booleanField(obj, "projections", c.projections);
  c.linearSolve = stringField(obj, "linearSolve", c.linearSolve);
  return c;
}

Napi::Object configToJs(Napi::Env env, const ModelConfig& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", c.kind);
  o.Set("vocabSize", static_cast<double>(c.vocabSize));
  o.Set("dModel", static_cast<double>(c.dModel));
  o.Set("nLayers", static_cast<double>(c.nLayers));
  o.Set("context", static_cast<double>(c.context));
  o.Set("padId", static_cast<double>(c.padId));
  o.Set("seed", static_cast<double>(c.seed));
  o.Set("device", c.device);
  o.Set("dtype", c.dtype);
  o.Set("fused", c.fused);
  if (c.predictTokens != 1) o.Set("predictTokens", static_cast<double>(c.predictTokens));
  // Llama blocks' fields: a llama model's, or an autoencoder's built from llama blocks.
  auto setLlamaFields = [&] {
    o.Set("nHeads", static_cast<double>(c.nHeads));
    o.Set("intermediateSize", static_cast<double>(c.intermediateSize > 0 ? c.intermediateSize : 4 * c.dModel));
    o.Set("ropeTheta", c.ropeTheta);
    o.Set("normEps", c.normEps);
  };
  if (c.kind == "llama") {
    setLlamaFields();
  } else if (c.kind == "repeat") {
    o.Set("ffMultiplier", static_cast<double>(c.ffMultiplier));
    o.Set("nHeads", static_cast<double>(c.nHeads));
    o.Set("structure", c.structure);
    o.Set("kernelSize", static_cast<double>(c.kernelSize));
  } else if (c.kind == "autoencoder") {
    o.Set("ffMultiplier", static_cast<double>(c.ffMultiplier));
    o.Set("variant", c.variant);
    // Llama-block fields only when set, so a mixer autoencoder's config (and config.json) stays as it was.
    if (c.blocks != "mixer") {
      o.Set("blocks", c.blocks);
      setLlamaFields();
    }
  } else if (c.kind == "linear") {
    o.Set("ffMultiplier", static_cast<double>(c.ffMultiplier));
    o.Set("nHeads", static_cast<double>(c.nHeads));
    o.Set("pattern", c.pattern);
    o.Set("order", static_cast<double>(c.order));
    o.Set("window", static_cast<double>(c.window));
    o.Set("coefficients", c.coefficients);
    o.Set("projections", c.projections);
    o.Set("linearSolve", c.linearSolve);
  } else {
    o.Set("ffMultiplier", static_cast<double>(c.ffMultiplier));
    // Variant fields only when set, so a flat mixer's config (and config.json) stays as it was.
    if (c.mixerHeads != 1) o.Set("nHeads", static_cast<double>(c.mixerHeads));
    if (c.mixerKernel != 1) o.Set("kernelSize", static_cast<double>(c.mixerKernel));
    if (c.mixingExpansion > 0) o.Set("mixingExpansion", c.mixingExpansion);
    if (c.mixingSoftmax) o.Set("mixingSoftmax", true);
    if (c.bidirectional) o.Set("bidirectional", true);
  }
  return o;
}

// Reads the token batch argument (Int32Array, batch) and checks it fits the model. JS thread, model lock held.
at::Tensor tokenBatch(const Napi::CallbackInfo& info, LanguageModel& model, bool needTargets) {
  int64_t batch = positiveIntegerArg(info, 1, "batch");
  at::Tensor tokens = tokensFromJs(info[0], batch, model.config().vocabSize, "tokens");
  int64_t t = tokens.size(1);
  require(t <= model.config().context,
          "sequences of " + std::to_string(t) + " tokens are longer than the model's context of " +
              std::to_string(model.config().context) + " (its mixing matrices are context×context)",
          "SHAPE_MISMATCH");
  require(!needTargets || t >= 2, "sequences need at least 2 tokens to have a next-token target", "SHAPE_MISMATCH");
  return tokens;
}

// The token batch argument of an async call, checked against the model's config without the lock (the config
// never changes; only the JS thread disposes the model), so the call can queue behind running ones.
at::Tensor liveTokenBatch(const Napi::CallbackInfo& info, ModelHandle& handle, bool needTargets) {
  return tokenBatch(info, handle.live(), needTargets);
}

using ModelWork = std::function<void(LanguageModel&)>;
using Settle = PromiseWorker::Settle;
}  // namespace

Napi::Function ModelWrap::define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "Model",
                                   {
                                       InstanceMethod<&ModelWrap::forward>("forward"),
                                       InstanceMethod<&ModelWrap::logProbs>("logProbs"),
                                       InstanceMethod<&ModelWrap::evalLoss>("evalLoss"),
                                       InstanceMethod<&ModelWrap::lossGradients>("lossGradients"),
                                       InstanceMethod<&ModelWrap::embed>("embed"),
                                       InstanceMethod<&ModelWrap::nextToken>("nextToken"),
                                       InstanceMethod<&ModelWrap::stateDict>("stateDict"),
                                       InstanceMethod<&ModelWrap::loadStateDict>("loadStateDict"),
                                       InstanceMethod<&ModelWrap::dispose>("dispose"),
                                       InstanceMethod<&ModelWrap::invert>("invert"),
                                       InstanceMethod<&ModelWrap::multiTokenLosses>("multiTokenLosses"),
                                       InstanceAccessor<&ModelWrap::numParameters>("numParameters"),
                                       InstanceAccessor<&ModelWrap::config>("config"),
                                       InstanceAccessor<&ModelWrap::cachedDecoding>("cachedDecoding"),
                                   });
  return remember(env, cls);
}

std::shared_ptr<ModelHandle> ModelWrap::unwrap(const Napi::Value& value, const char* what) {
  return unwrapInstance(value, what, "Model")->handle_;
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : PrivatelyConstructed(info) {
  guard(info.Env(), [&] {
    require(hasToken(info), "use createModel(config) to make a Model");
    handle_ = takePending();
  });
}

Napi::Value ModelWrap::create(const Napi::CallbackInfo& info) {
  return asyncCall(info.Env(), [&] {
    ModelConfig config = configFromJs(objectArg(info, 0, "config"));
    auto handle = std::make_shared<ModelHandle>();
    return PromiseWorker::start(
        info.Env(),
        [handle, config] {
          handle->model = buildModel(config);
          for (const auto& p : handle->model->parameters()) handle->parameterCount += static_cast<double>(p.numel());
        },
        [handle](Napi::Env e) -> Napi::Value { return construct(e, handle); });
  });
}

// forward(tokens: Int32Array, batch): Promise<Tensor> — logits [batch, t, vocab], float32.
Napi::Value ModelWrap::forward(const Napi::CallbackInfo& info) {
  return asyncHandleCall(info, handle_, [&] {
    at::Tensor tokens = liveTokenBatch(info, *handle_, false);
    auto out = std::make_shared<at::Tensor>();
    ModelWork work = [tokens, out](LanguageModel& model) {
      torch::NoGradGuard noGrad;
      model.eval();
      *out = model.forward(tokens.to(at::Device(model.config().device))).to(at::kFloat);
    };
    Settle settle = [out](Napi::Env e) -> Napi::Value { return TensorWrap::wrap(e, *out); };
    return std::make_pair(work, settle);
  });
}

// logProbs(tokens, batch): Promise<Float32Array> — [batch, t-1]: log p(token[i+1] | tokens[..i]).
Napi::Value ModelWrap::logProbs(const Napi::CallbackInfo& info) {
  return asyncHandleCall(info, handle_, [&] {
    at::Tensor tokens = liveTokenBatch(info, *handle_, true);
    auto out = std::make_shared<at::Tensor>();
    ModelWork work = [tokens, out](LanguageModel& model) {
      torch::NoGradGuard noGrad;
      model.eval();
      at::Tensor onDevice = tokens.to(at::Device(model.config().device));
      *out = nextTokenLogProbs(model.forward(onDevice), onDevice, model.targetOffset()).cpu();
    };
    Settle settle = [out](Napi::Env e) -> Napi::Value { return typedArrayFromTensor(e, *out); };
    return std::make_pair(work, settle);
  });
}

// evalLoss(tokens, batch, { precision }): Promise<{ loss, targets }>
Napi::Value ModelWrap::evalLoss(const Napi::CallbackInfo& info) {
  return asyncHandleCall(info, handle_, [&] {
    at::Tensor tokens = liveTokenBatch(info, *handle_, true);
    bool fp32 = stringField(objectArg(info, 2, "options"), "precision", "auto") == "fp32";
    auto out = std::make_shared<EvalResult>();
    ModelWork work = [tokens, fp32, out](LanguageModel& model) {
      *out = maskmix::evalLoss(model, tokens.to(at::Device(model.config().device)), fp32);
    };
    Settle settle = [out](Napi::Env e) -> Napi::Value {
      Napi::Object o = Napi::Object::New(e);
      o.Set("loss", out->loss);
      o.Set("targets", static_cast<double>(out->targets));
      return o;
    };
    return std::make_pair(work, settle);
  });
}

// lossGradients(tokens, batch, { objective?, infoNceGroup?, infoNceTemperature?, embeddingToken? }):
// Promise<{ loss, gradients: Record<string, Tensor> }> — the training loss of a batch (next-token by default, or
// the InfoNCE retrieval loss) and d loss / d parameter for every parameter, without updating anything (for checks
// and analyses).
Napi::Value ModelWrap::lossGradients(const Napi::CallbackInfo& info) {
  return asyncHandleCall(info, handle_, [&] {
    at::Tensor tokens = liveTokenBatch(info, *handle_, true);
    bool infoNce = false;
    InfoNceOptions nce;
    if (info.Length() > 2 && info[2].IsObject()) {
      Napi::Object o = info[2].As<Napi::Object>();
      std::string objective = stringField(o, "objective", "next-token");
      require(objective == "next-token" || objective == "infonce", "objective must be 'next-token' or 'infonce'");
      infoNce = objective == "infonce";
      nce.group = integerField(o, "infoNceGroup", nce.group);
      nce.temperature = numberField(o, "infoNceTemperature", nce.temperature);
      nce.fromEnd = embeddingFromEnd(stringField(o, "embeddingToken", "second-to-last"));
      if (infoNce) checkInfoNceOptions(nce);
    }
    struct Out {
      double loss = 0;
      NamedGradients grads;
    };
    auto out = std::make_shared<Out>();
    ModelWork work = [tokens, out, infoNce, nce](LanguageModel& model) {
      model.train();
      clearParameterGradients(model);
      at::Tensor onDevice = tokens.to(at::Device(model.config().device));
      at::Tensor loss = infoNce ? contrastiveLoss(model, onDevice, nce) : nextTokenLoss(model, onDevice).loss;
      loss.backward();
      out->loss = loss.item<double>();
      out->grads = takeParameterGradients(model);
    };
    Settle settle = [out](Napi::Env e) -> Napi::Value { return lossGradientsToJs(e, out->loss, out->grads); };
    return std::make_pair(work, settle);
  });
}

// embed(tokens, batch, { token: 'last' | 'second-to-last', precision: 'auto' | 'fp32' }): Promise<Tensor> —
// [batch, d] float32: each sequence's final hidden state at that token (retrieval embeddings; left-pad the
// sequences so the token is real text). 'auto' runs under bf16 autocast on a GPU.
Napi::Value ModelWrap::embed(const Napi::CallbackInfo& info) {
  return asyncHandleCall(info, handle_, [&] {
    at::Tensor tokens = liveTokenBatch(info, *handle_, false);
    Napi::Object o = objectArg(info, 2, "options");
    int64_t fromEnd = embeddingFromEnd(stringField(o, "token", "second-to-last"));
    require(fromEnd <= tokens.size(1), "sequences of " + std::to_string(tokens.size(1)) + " token(s) have no second-to-last token", "SHAPE_MISMATCH");
    bool fp32 = stringField(o, "precision", "auto") == "fp32";
    auto out = std::make_shared<at::Tensor>();
    ModelWork work = [tokens, fromEnd, fp32, out](LanguageModel& model) {
      torch::NoGradGuard noGrad;
      model.eval();
      at::Tensor onDevice = tokens.to(at::Device(model.config().device));
      compat::CudaAutocast autocast(onDevice.is_cuda() && !fp32, at::kBFloat16);
      *out = sequenceEmbeddings(model, onDevice, fromEnd).to(at::kCPU, at::kFloat).contiguous();
    };
    Settle settle = [out](Napi::Env e) -> Napi::Value { return TensorWrap::wrap(e, *out); };
    return std::make_pair(work, settle);
  });
}

// nextToken(tokens: Int32Array, { temperature, topK, topP, uniform }): Promise<{ token, logProb }>
// Runs the model over the last ≤ context tokens and samples the token that follows.
Napi::Value ModelWrap::nextToken(const Napi::CallbackInfo& info) {
  return asyncHandleCall(info, handle_, [&] {
    at::Tensor tokens;
    SamplingOptions options;
    {
      LanguageModel& model = handle_->live();  // its config only: no lock (asyncHandleCall)
      tokens = tokensFromJs(info[0], 1, model.config().vocabSize, "tokens");
      if (tokens.size(1) > model.config().context) tokens = tokens.narrow(1, tokens.size(1) - model.config().context, model.config().context);
      Napi::Object o = objectArg(info, 1, "options");
      options.temperature = numberField(o, "temperature", options.temperature);
      options.topK = integerField(o, "topK", options.topK);
      options.topP = numberField(o, "topP", options.topP);
      options.uniform = numberField(o, "uniform", options.uniform);
    }
    auto out = std::make_shared<SampledToken>();
    ModelWork work = [tokens, options, out](LanguageModel& model) {
      c10::InferenceMode inference;
      model.eval();
      at::Tensor logits = model.forward(tokens.to(at::Device(model.config().device)));
      at::Tensor last = logits.select(1, logits.size(1) - 1).select(0, 0).to(at::kCPU, at::kFloat).contiguous();
      *out = sampleToken(last.data_ptr<float>(), last.size(0), options);
    };
    Settle settle = [out](Napi::Env e) -> Napi::Value {
      Napi::Object o = Napi::Object::New(e);
      o.Set("token", static_cast<double>(out->token));
      o.Set("logProb", out->logProb);
      return o;
    };
    return std::make_pair(work, settle);
  });
}

// stateDict(): Record<string, Tensor> — detached views of the live parameters and buffers (no copy).
Napi::Value ModelWrap::stateDict(const Napi::CallbackInfo& info) {
  return withLiveModel(info, *handle_, [&](LanguageModel& model) -> Napi::Value {
    Napi::Object out = Napi::Object::New(info.Env());
    for (const auto& item : model.named_parameters(true)) out.Set(item.key(), TensorWrap::wrap(info.Env(), item.value().detach()));
    for (const auto& item : model.named_buffers(true)) out.Set(item.key(), TensorWrap::wrap(info.Env(), item.value().detach()));
    return out;
  });
}

// loadStateDict(tensors: Record<string, Tensor>): void — strict: names and shapes must match exactly.
Napi::Value ModelWrap::loadStateDict(const Napi::CallbackInfo& info) {
  return withLiveModel(info, *handle_, [&](LanguageModel& model) -> Napi::Value {
    Napi::Object obj = objectArg(info, 0, "tensors");
    std::map<std::string, at::Tensor> tensors;
    Napi::Array names = obj.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      std::string name = names.Get(i).As<Napi::String>().Utf8Value();
      tensors[name] = TensorWrap::unwrap(obj.Get(name), name.c_str());
    }
    maskmix::loadStateDict(model, tensors);
    return info.Env().Undefined();
  });
}

// numParameters, cachedDecoding and config are facts fixed when the model is built: they answer without the lock,
// even while a step runs (withModelFacts).
Napi::Value ModelWrap::numParameters(const Napi::CallbackInfo& info) {
  return withModelFacts(info, *handle_, [&](LanguageModel&) -> Napi::Value { return Napi::Number::New(info.Env(), handle_->parameterCount); });
}

// cachedDecoding: boolean — whether decoders of this model keep per-layer states (else they re-run the prefix).
Napi::Value ModelWrap::cachedDecoding(const Napi::CallbackInfo& info) {
  return withModelFacts(info, *handle_, [&](LanguageModel& model) -> Napi::Value { return Napi::Boolean::New(info.Env(), hasCachedDecoding(model)); });
}

Napi::Value ModelWrap::config(const Napi::CallbackInfo& info) {
  return withModelFacts(info, *handle_, [&](LanguageModel& model) -> Napi::Value { return configToJs(info.Env(), model.config()); });
}

// dispose(): frees the weights now; BUSY while async calls on the model are queued or running (TryLock).
Napi::Value ModelWrap::dispose(const Napi::CallbackInfo& info) {
  return withLockedHandle(info, *handle_, [&](ModelHandle& handle) -> Napi::Value {
    handle.model.reset();
    dropFreedCopies();  // its weights' bf16 copies, unless a trainer still holds the weights
    return info.Env().Undefined();
  });
}

// invert(tokens, batch, { layer, iterations, learningRate, seed }): Promise<{ tokens: Int32Array, hamming,
// initialLoss, loss }> — input representation by gradient descent on the embeddings (analysis/inversion.h).
Napi::Value ModelWrap::invert(const Napi::CallbackInfo& info) {
  return asyncHandleCall(info, handle_, [&] {
    at::Tensor tokens = liveTokenBatch(info, *handle_, false);
    Napi::Object o = objectArg(info, 2, "options");
    InversionOptions options;
    options.layer = integerField(o, "layer", 0);
    options.iterations = integerField(o, "iterations", options.iterations);
    options.learningRate = numberField(o, "learningRate", 0);
    double seed = numberField(o, "seed", 0);
    require(seed >= 0 && seed == std::floor(seed), "seed must be a non-negative integer");
    options.seed = static_cast<uint64_t>(seed);
    auto out = std::make_shared<InversionResult>();
    ModelWork work = [tokens, options, out](LanguageModel& model) {
      *out = invertInputs(model, tokens.to(at::Device(model.config().device)), options);
    };
    Settle settle = [out](Napi::Env e) -> Napi::Value {
      Napi::Object r = Napi::Object::New(e);
      r.Set("tokens", typedArrayFromTensor(e, out->tokens.to(at::kInt).contiguous()));
      r.Set("hamming", out->hamming);
      r.Set("initialLoss", out->initialLoss);
      r.Set("loss", out->loss);
      return r;
    };
    return std::make_pair(work, settle);
  });
}

// multiTokenLosses(tokens, batch): Promise<number[]> — the eval loss at each prediction offset 1 … predictTokens.
Napi::Value ModelWrap::multiTokenLosses(const Napi::CallbackInfo& info) {
  return asyncHandleCall(info, handle_, [&] {
    at::Tensor tokens = liveTokenBatch(info, *handle_, true);
    auto out = std::make_shared<std::vector<double>>();
    ModelWork work = [tokens, out](LanguageModel& model) {
      torch::NoGradGuard noGrad;
      model.eval();
      at::Tensor onDevice = tokens.to(at::Device(model.config().device));
      compat::CudaAutocast autocast(onDevice.is_cuda(), at::kBFloat16);
      for (const auto& l : maskmix::multiTokenLosses(model, onDevice)) out->push_back(l.loss.item<double>());
    };
    Settle settle = [out](Napi::Env e) -> Napi::Value {
      Napi::Array a = Napi::Array::New(e, out->size());
      for (size_t i = 0; i < out->size(); ++i) a.Set(static_cast<uint32_t>(i), out->at(i));
      return a;
    };
    return std::make_pair(work, settle);
  });
}

}  // namespace maskmix
