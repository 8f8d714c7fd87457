#include "bindings/decoder_wrap.h"

#include <cstring>
#include <vector>

#include "bindings/model_wrap.h"
#include "common/js_object.h"
#include "common/promise_worker.h"
#include "tensor/tensor_wrap.h"
#include "tensor/typed_array.h"
#include "train/sampling.h"

namespace maskmix {

namespace {

// Optional sampling of the next token of every sequence, from the last position's logits.
struct Sampling {
  bool enabled = false;
  SamplingOptions options;
  std::vector<double> uniforms;  // one draw per sequence
};

Sampling samplingFromJs(const Napi::Object& options, int64_t batch) {
  Sampling s;
  if (!hasField(options, "sampling")) return s;
  require(options.Get("sampling").IsObject(), "sampling must be an object");
  Napi::Object o = options.Get("sampling").As<Napi::Object>();
  s.enabled = true;
  s.options.temperature = numberField(o, "temperature", s.options.temperature);
  s.options.topK = integerField(o, "topK", s.options.topK);
  s.options.topP = numberField(o, "topP", s.options.topP);
  require(s.options.temperature >= 0 && s.options.topK >= 0 && s.options.topP > 0 && s.options.topP <= 1,
          "sampling needs temperature ≥ 0, topK ≥ 0 and 0 < topP ≤ 1");
  require(hasField(o, "uniforms"), "sampling.uniforms must hold one draw in [0, 1) per sequence");
  Napi::Value u = o.Get("uniforms");
  require(u.IsArray() || u.IsTypedArray(), "sampling.uniforms must be an array of numbers");
  Napi::Object arr = u.As<Napi::Object>();
  uint32_t length = arr.Get("length").As<Napi::Number>().Uint32Value();
  require(static_cast<int64_t>(length) == batch, "sampling.uniforms needs " + std::to_string(batch) + " draws (one per sequence)");
  for (uint32_t i = 0; i < length; ++i) {
    Napi::Value v = arr.Get(i);
    require(v.IsNumber(), "sampling.uniforms must be numbers");
    double d = v.As<Napi::Number>().DoubleValue();
    require(d >= 0 && d < 1, "sampling.uniforms must lie in [0, 1)");
    s.uniforms.push_back(d);
  }
  return s;
}

struct Advanced {
  at::Tensor logits;
  std::vector<int32_t> tokens;
  std::vector<double> logProbs;
};

// The decoder's model must still be the handle's: a disposed model ends its sessions.
void requireModelAlive(const DecoderSession& session) {
  requireNotDisposed(session.decoder, "decoder");
  require(session.handle->model == session.decoder->model(), "the decoder's model was disposed", "DISPOSED");
}

// Every async decoder call: `prepare` checks the arguments on the JS thread and returns {work, settle}. The session
// is busy until the promise settles, so what JS sees is always the finished state; the work waits its turn among
// the model's calls (CallQueue) and runs with the model locked and still the decoder's.
template <typename Prepare>
Napi::Value asyncSessionCall(const Napi::CallbackInfo& info, const std::shared_ptr<DecoderSession>& session, Prepare&& prepare) {
  return asyncCall(info.Env(), [&]() -> Napi::Value {
    auto [work, settle] = prepare();
    Napi::Promise promise = queueHandleCall(
        info.Env(), session->handle,
        [session, work = std::move(work)] {
          requireModelAlive(*session);
          work(*session->decoder);
        },
        std::move(settle), [session] { session->busy = false; });
    session->busy = true;  // after queueing: the call cannot end before this returns (it ends on the JS thread)
    return promise;
  });
}

}  // namespace

Napi::Function DecoderWrap::define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "Decoder",
                                   {
                                       InstanceMethod<&DecoderWrap::prefill>("prefill"),
                                       InstanceMethod<&DecoderWrap::step>("step"),
                                       InstanceMethod<&DecoderWrap::greedy>("greedy"),
                                       InstanceMethod<&DecoderWrap::clone>("clone"),
                                       InstanceMethod<&DecoderWrap::reset>("reset"),
                                       InstanceMethod<&DecoderWrap::dispose>("dispose"),
                                       InstanceAccessor<&DecoderWrap::position>("position"),
                                       InstanceAccessor<&DecoderWrap::batch>("batch"),
                                       InstanceAccessor<&DecoderWrap::cacheBytes>("cacheBytes"),
                                       InstanceAccessor<&DecoderWrap::mode>("mode"),
                                   });
  return remember(env, cls);
}

DecoderWrap::DecoderWrap(const Napi::CallbackInfo& info) : PrivatelyConstructed(info) {
  guard(info.Env(), [&] {
    if (hasToken(info)) {  // clone()
      session_ = takePending();
      return;
    }
    require(info.Length() >= 1, "new Decoder(model, { batch, mode, precision, weights })");
    auto session = std::make_shared<Session>();
    session->handle = ModelWrap::unwrap(info[0], "model");
    Napi::Object o = objectArg(info, 1, "options");
    int64_t batch = integerField(o, "batch", 1);
    require(batch >= 1, "batch must be a positive integer");
    std::string mode = stringField(o, "mode", "auto");
    std::string precision = stringField(o, "precision", "auto");
    std::string weights = stringField(o, "weights", "model");
    // No lock: a session only reads the model's config now (its states start empty), so it can be made while
    // the model trains or decodes elsewhere.
    session->handle->live();
    session->decoder = makeDecoder(session->handle->model, batch, mode, precision, weights);
    session_ = session;
  });
}

Decoder& DecoderWrap::idle() {
  Decoder& decoder = requireNotDisposed(session_->decoder, "decoder");
  requireIdle(!session_->busy, "decoder");
  return decoder;
}

// prefill(tokens: Int32Array [batch·m], { logits: 'last' | 'all', sampling }) and step(tokens: Int32Array [batch],
// { sampling }): Promise<{ logits: Tensor, tokens?: Int32Array, logProbs?: Float64Array }>.
Napi::Value DecoderWrap::advance(const Napi::CallbackInfo& info, bool isStep) {
  return asyncSessionCall(info, session_, [&] {
    Decoder& decoder = idle();
    requireModelAlive(*session_);
    // The model's config never changes, so reading it needs no lock (another session may be stepping).
    at::Tensor tokens = tokensFromJs(info[0], decoder.batch(), decoder.model()->config().vocabSize, "tokens");
    require(tokens.size(1) >= 1, "prefill needs at least one token per sequence");
    require(!isStep || tokens.size(1) == 1, "step takes one token per sequence: " + std::to_string(decoder.batch()) + " tokens", "SHAPE_MISMATCH");
    Napi::Object o = objectArg(info, 1, "options");
    std::string logits = stringField(o, "logits", "last");
    require(logits == "last" || logits == "all", "logits must be 'last' or 'all'");
    bool allPositions = !isStep && logits == "all";
    Sampling sampling = samplingFromJs(o, decoder.batch());
    auto out = std::make_shared<Advanced>();
    auto work = [tokens, allPositions, sampling, isStep, out](Decoder& d) {
      out->logits = isStep ? d.step(tokens.view({-1})) : d.prefill(tokens, allPositions);
      if (!sampling.enabled) return;
      at::Tensor last = (allPositions ? out->logits.select(1, out->logits.size(1) - 1) : out->logits).to(at::kCPU, at::kFloat).contiguous();
      int64_t vocab = last.size(1);
      for (int64_t i = 0; i < last.size(0); ++i) {
        SamplingOptions options = sampling.options;
        options.uniform = sampling.uniforms[i];
        SampledToken t = sampleToken(last.data_ptr<float>() + i * vocab, vocab, options);
        out->tokens.push_back(static_cast<int32_t>(t.token));
        out->logProbs.push_back(t.logProb);
      }
    };
    auto settle = [out](Napi::Env e) -> Napi::Value {
      Napi::Object o = Napi::Object::New(e);
      o.Set("logits", TensorWrap::wrap(e, out->logits));
      if (!out->tokens.empty()) {
        auto tokens = Napi::Int32Array::New(e, out->tokens.size());
        auto logProbs = Napi::Float64Array::New(e, out->logProbs.size());
        for (size_t i = 0; i < out->tokens.size(); ++i) {
          tokens[i] = out->tokens[i];
          logProbs[i] = out->logProbs[i];
        }
        o.Set("tokens", tokens);
        o.Set("logProbs", logProbs);
      }
      return o;
    };
    return std::make_pair(work, settle);
  });
}

Napi::Value DecoderWrap::prefill(const Napi::CallbackInfo& info) { return advance(info, false); }
Napi::Value DecoderWrap::step(const Napi::CallbackInfo& info) { return advance(info, true); }

// greedy(first: Int32Array [batch], count): Promise<{ tokens: Int32Array [batch·count] (sequence-major), graphed, fused, int8Weights,
// tensorCores }>
// — count greedy steps in one native loop (decode/decoder.h).
Napi::Value DecoderWrap::greedy(const Napi::CallbackInfo& info) {
  return asyncSessionCall(info, session_, [&] {
    Decoder& decoder = idle();
    requireModelAlive(*session_);
    at::Tensor first = tokensFromJs(info[0], decoder.batch(), decoder.model()->config().vocabSize, "first").view({-1});
    require(first.size(0) == decoder.batch(), "greedy takes one token per sequence: " + std::to_string(decoder.batch()) + " tokens",
            "SHAPE_MISMATCH");
    require(info.Length() > 1 && info[1].IsNumber(), "greedy(first, count): count must be a number");
    double count = info[1].As<Napi::Number>().DoubleValue();
    require(count >= 1 && count == static_cast<double>(static_cast<int64_t>(count)), "count must be a positive integer");
    struct Greedy {
      at::Tensor tokens;
      bool graphed = false;
      bool fused = false;
      bool int8Weights = false;
      bool tensorCores = false;
    };
    auto out = std::make_shared<Greedy>();
    auto work = [first, count, out](Decoder& d) {
      out->tokens = d.greedy(first, static_cast<int64_t>(count)).to(at::kInt).contiguous();
      out->graphed = d.lastGreedyGraphed();
      out->fused = d.lastGreedyFused();
      out->int8Weights = d.lastGreedyInt8Weights();
      out->tensorCores = d.lastGreedyTensorCores();
    };
    auto settle = [out](Napi::Env e) -> Napi::Value {
      Napi::Object o = Napi::Object::New(e);
      auto tokens = Napi::Int32Array::New(e, static_cast<size_t>(out->tokens.numel()));
      std::memcpy(tokens.Data(), out->tokens.data_ptr<int32_t>(), tokens.ByteLength());
      o.Set("tokens", tokens);
      o.Set("graphed", out->graphed);
      o.Set("fused", out->fused);
      o.Set("int8Weights", out->int8Weights);
      o.Set("tensorCores", out->tensorCores);
      return o;
    };
    return std::make_pair(work, settle);
  });
}

// clone({ copies }): Promise<Decoder> — an independent session at the same position (copies the states, so
// async); copies > 1 repeats each sequence that many times.
Napi::Value DecoderWrap::clone(const Napi::CallbackInfo& info) {
  return asyncSessionCall(info, session_, [&] {
    idle();
    requireModelAlive(*session_);
    int64_t copies = integerField(objectArg(info, 0, "options"), "copies", 1);
    require(copies >= 1, "copies must be a positive integer");
    auto copy = std::make_shared<Session>();
    copy->handle = session_->handle;
    auto work = [copy, copies](Decoder& d) {
      c10::InferenceMode inference;
      copy->decoder = d.clone(copies);
    };
    auto settle = [copy](Napi::Env e) -> Napi::Value { return construct(e, copy); };
    return std::make_pair(work, settle);
  });
}

// reset(): back to position 0; the states are dropped (cheap, so synchronous).
Napi::Value DecoderWrap::reset(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    idle().reset();
    return info.Env().Undefined();
  });
}

Napi::Value DecoderWrap::dispose(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    if (session_->decoder == nullptr) return info.Env().Undefined();
    idle();
    session_->decoder.reset();
    return info.Env().Undefined();
  });
}

Napi::Value DecoderWrap::position(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::Number::New(info.Env(), static_cast<double>(idle().position())); });
}

Napi::Value DecoderWrap::batch(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    requireNotDisposed(session_->decoder, "decoder");
    return Napi::Number::New(info.Env(), static_cast<double>(session_->decoder->batch()));
  });
}

Napi::Value DecoderWrap::cacheBytes(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::Number::New(info.Env(), static_cast<double>(idle().cacheBytes())); });
}

Napi::Value DecoderWrap::mode(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    requireNotDisposed(session_->decoder, "decoder");
    return Napi::String::New(info.Env(), session_->decoder->mode());
  });
}

}  // namespace maskmix
