#include "bindings/ops_binding.h"

#include <torch/utils.h>
#include <torch/autograd.h>

#include "common/napi_guard.h"
#include "common/js_object.h"
#include "decode/decode_gemv_probe.h"
#include "decode/fragment_order.h"
#include "decode/quantized_rows.h"
#include "ops/decayed_scan.h"
#include "ops/linear_mixing.h"
#include "ops/linear_pattern.h"
#include "ops/masked_mixing.h"
#include "ops/repeat_mixing.h"
#include "train/linear_cross_entropy.h"
#include "tensor/tensor_wrap.h"

namespace maskmix {

namespace {

// d y / d input for each named input that is defined, as { name: Tensor } (zeros for an input y does not use:
// Toeplitz has no decay, and a structure may ignore a weight it was given).
Napi::Object inputGradients(Napi::Env env, const at::Tensor& y, const at::Tensor& gradOutput,
                            const std::vector<std::pair<const char*, at::Tensor>>& named) {
  std::vector<at::Tensor> inputs;
  std::vector<const char*> names;
  for (const auto& [name, t] : named)
    if (t.defined()) {
      inputs.push_back(t);
      names.push_back(name);
    }
  auto grads = torch::autograd::grad({y}, inputs, {gradOutput.to(y.scalar_type())}, c10::nullopt, false, /*allow_unused=*/true);
  Napi::Object out = Napi::Object::New(env);
  for (size_t i = 0; i < inputs.size(); ++i) out.Set(names[i], TensorWrap::wrap(env, grads[i].defined() ? grads[i] : at::zeros_like(inputs[i])));
  return out;
}


// maskedMixing(x, weight, bias): Tensor
Napi::Value maskedMixingForward(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    torch::NoGradGuard noGrad;
    at::Tensor y = maskedMixing(TensorWrap::unwrap(info[0], "x"), TensorWrap::unwrap(info[1], "weight"), TensorWrap::unwrap(info[2], "bias"));
    return TensorWrap::wrap(info.Env(), y);
  });
}

// maskedMixingBackward(x, weight, bias, gradOutput): { x, weight, bias } — the op's own backward, through autograd.
Napi::Value maskedMixingBackward(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    at::Tensor x = TensorWrap::unwrap(info[0], "x").detach().requires_grad_(true);
    at::Tensor w = TensorWrap::unwrap(info[1], "weight").detach().requires_grad_(true);
    at::Tensor b = TensorWrap::unwrap(info[2], "bias").detach().requires_grad_(true);
    at::Tensor gy = TensorWrap::unwrap(info[3], "gradOutput");
    at::Tensor y = maskedMixing(x, w, b);
    require(gy.sizes() == y.sizes(), "gradOutput must have the output's shape", "SHAPE_MISMATCH");
    auto grads = torch::autograd::grad({y}, {x, w, b}, {gy.to(y.scalar_type())});
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("x", TensorWrap::wrap(info.Env(), grads[0]));
    out.Set("weight", TensorWrap::wrap(info.Env(), grads[1]));
    out.Set("bias", TensorWrap::wrap(info.Env(), grads[2]));
    return out;
  });
}

// quantizeRows(weight): { values: int8 Tensor, scales: Tensor } — the int8 copy the fused decoding kernels read
// (decoder weights 'int8'), so tests can check it on the CPU.
Napi::Value quantizeRowsOp(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    QuantizedRows q = quantizeRows(TensorWrap::unwrap(info[0], "weight"));
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("values", TensorWrap::wrap(info.Env(), q.values));
    o.Set("scales", TensorWrap::wrap(info.Env(), q.scales));
    return o;
  });
}

// fragmentOrder(matrix): Tensor — a matrix's rows reordered as the decoding kernels' tensor-core products read them
// (decode/fragment_order.h), so tests can check the layout on the CPU.
Napi::Value fragmentOrderOp(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return TensorWrap::wrap(info.Env(), fragmentOrder(TensorWrap::unwrap(info[0], "matrix"))); });
}

// probeDecodeGemv(weight, input, weights, layerNorm): Tensor — one decoding GEMV kernel run alone (decode/decode_gemv_probe.h).
Napi::Value probeDecodeGemvOp(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    require(info.Length() > 3 && info[2].IsString() && info[3].IsBoolean(), "probeDecodeGemv(weight, input, weights: string, layerNorm: boolean)");
    at::Tensor out = probeDecodeGemv(TensorWrap::unwrap(info[0], "weight"), TensorWrap::unwrap(info[1], "input"), info[2].As<Napi::String>().Utf8Value(),
                                     info[3].As<Napi::Boolean>().Value());
    return TensorWrap::wrap(info.Env(), out);
  });
}

// linearCrossEntropy(hidden, weight, targets, ignoreIndex, chunkRows?): { loss, targets, gradHidden, gradWeight }
// — the fused output projection + cross-entropy and its gradients, on small tensors (tests compare it with a
// plain computation and with finite differences).
Napi::Value linearCrossEntropyOp(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    at::Tensor h = TensorWrap::unwrap(info[0], "hidden").detach().requires_grad_(true);
    at::Tensor w = TensorWrap::unwrap(info[1], "weight").detach().requires_grad_(true);
    at::Tensor t = TensorWrap::unwrap(info[2], "targets").to(at::kLong);
    require(info.Length() > 3 && info[3].IsNumber(), "ignoreIndex must be a number");
    int64_t ignore = info[3].As<Napi::Number>().Int64Value();
    int64_t chunk = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().Int64Value() : 0;
    LinearCrossEntropy out = linearCrossEntropy(h, w, t, ignore, chunk);
    auto grads = torch::autograd::grad({out.loss}, {h, w});
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("loss", out.loss.item<double>());
    o.Set("targets", static_cast<double>(out.targets.item<int64_t>()));
    o.Set("gradHidden", TensorWrap::wrap(info.Env(), grads[0]));
    o.Set("gradWeight", TensorWrap::wrap(info.Env(), grads[1]));
    return o;
  });
}

// decayedScan(u, logGamma, init | null, strategy?, chunk?): Tensor — the running sums of ops/decayed_scan.h.
at::Tensor scanFromJs(const Napi::CallbackInfo& info, const at::Tensor& u, const at::Tensor& logGamma, const at::Tensor& init) {
  std::string strategy = info.Length() > 3 && info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "auto";
  int64_t chunk = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().Int64Value() : 0;
  return decayedScan(u, logGamma, init, scanStrategyFromName(strategy), chunk);
}

at::Tensor optionalTensor(const Napi::CallbackInfo& info, size_t index, const char* what) {
  return info.Length() > index && !info[index].IsNull() && !info[index].IsUndefined() ? TensorWrap::unwrap(info[index], what) : at::Tensor();
}

Napi::Value decayedScanForward(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    torch::NoGradGuard noGrad;
    at::Tensor y = scanFromJs(info, TensorWrap::unwrap(info[0], "u"), TensorWrap::unwrap(info[1], "logGamma"), optionalTensor(info, 2, "init"));
    return TensorWrap::wrap(info.Env(), y);
  });
}

// decayedScanBackward(u, logGamma, init | null, strategy, chunk, gradOutput): { u, logGamma, init? } through autograd.
Napi::Value decayedScanBackward(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    at::Tensor u = TensorWrap::unwrap(info[0], "u").detach().requires_grad_(true);
    at::Tensor g = TensorWrap::unwrap(info[1], "logGamma").detach().requires_grad_(true);
    at::Tensor init = optionalTensor(info, 2, "init");
    if (init.defined()) init = init.detach().requires_grad_(true);
    at::Tensor gy = TensorWrap::unwrap(info[5], "gradOutput");
    at::Tensor y = scanFromJs(info, u, g, init);
    require(gy.sizes() == y.sizes(), "gradOutput must have the output's shape", "SHAPE_MISMATCH");
    std::vector<at::Tensor> inputs{u, g};
    if (init.defined()) inputs.push_back(init);
    auto grads = torch::autograd::grad({y}, inputs, {gy.to(y.scalar_type())});
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("u", TensorWrap::wrap(info.Env(), grads[0]));
    out.Set("logGamma", TensorWrap::wrap(info.Env(), grads[1]));
    if (init.defined()) out.Set("init", TensorWrap::wrap(info.Env(), grads[2]));
    return out;
  });
}

// The weights of a repeat mixing layer from { structure, weight, rowWeight?, diagonal?, bias, decay?, decayConstant }.
RepeatWeights repeatWeightsFromJs(const Napi::Object& o, bool requireGrad) {
  RepeatWeights w;
  w.structure = repeatStructureFromName(stringField(o, "structure", "mixed"));
  w.decayConstant = numberField(o, "decayConstant", 1.0);
  require(w.decayConstant > 0, "decayConstant must be positive");
  auto field = [&](const char* name) {
    if (!hasField(o, name)) return at::Tensor();
    at::Tensor t = TensorWrap::unwrap(o.Get(name), name).detach();
    return requireGrad ? t.requires_grad_(true) : t;
  };
  w.weight = field("weight");
  w.rowWeight = field("rowWeight");
  w.diagonal = field("diagonal");
  w.bias = field("bias");
  w.decay = field("decay");
  return w;
}

// repeatMixing(x [H, t, b, dh], weights): Tensor — ops/repeat_mixing.h from position 0.
Napi::Value repeatMixingForward(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    torch::NoGradGuard noGrad;
    RepeatWeights w = repeatWeightsFromJs(objectArg(info, 1, "weights"), false);
    return TensorWrap::wrap(info.Env(), repeatMixing(TensorWrap::unwrap(info[0], "x"), w).y);
  });
}

// repeatMixingBackward(x, weights, gradOutput): { x, weight, rowWeight?, diagonal?, bias, decay? } through autograd.
Napi::Value repeatMixingBackward(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    at::Tensor x = TensorWrap::unwrap(info[0], "x").detach().requires_grad_(true);
    RepeatWeights w = repeatWeightsFromJs(objectArg(info, 1, "weights"), true);
    at::Tensor gy = TensorWrap::unwrap(info[2], "gradOutput");
    at::Tensor y = repeatMixing(x, w).y;
    require(gy.sizes() == y.sizes(), "gradOutput must have the output's shape", "SHAPE_MISMATCH");
    return inputGradients(info.Env(), y, gy,
                          {{"x", x}, {"weight", w.weight}, {"rowWeight", w.rowWeight}, {"diagonal", w.diagonal}, {"bias", w.bias}, {"decay", w.decay}});
  });
}

// The pattern of { pattern, context, order?, window? } (ops/linear_pattern.h).
LinearPattern linearPatternFromJs(const Napi::Object& o) {
  return LinearPattern(linearPatternFromName(stringField(o, "pattern", "first-order")), integerField(o, "context", 0), integerField(o, "order", 4),
                       integerField(o, "window", 8));
}

Napi::Array positionsToJs(Napi::Env env, const std::vector<int64_t>& positions) {
  Napi::Array out = Napi::Array::New(env, positions.size());
  for (size_t i = 0; i < positions.size(); ++i) out.Set(static_cast<uint32_t>(i), static_cast<double>(positions[i]));
  return out;
}

// linearPatternReads(spec, position): { reads, retained, slots, lagsA } — what row `position`
// reads through B (distinct, ascending), what a decoding cache keeps after it, each B slot's source (−1: unused).
Napi::Value linearPatternReads(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    LinearPattern pattern = linearPatternFromJs(objectArg(info, 0, "spec"));
    require(info.Length() > 1 && info[1].IsNumber(), "position must be a number");
    int64_t i = info[1].As<Napi::Number>().Int64Value();
    require(i >= 0 && i < pattern.context(), "position must lie inside the context");
    std::vector<int64_t> slots;
    for (int64_t k = 0; k < pattern.slotsB(); ++k) slots.push_back(pattern.source(i, k));
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("reads", positionsToJs(info.Env(), pattern.reads(i)));
    out.Set("retained", positionsToJs(info.Env(), pattern.retainedAfter(i)));
    out.Set("slots", positionsToJs(info.Env(), slots));
    out.Set("lagsA", static_cast<double>(pattern.lagsA()));
    return out;
  });
}

// The arguments of linearMixing / linearMixingBackward: x, alpha, beta | null, bias | null, spec, solve?, chunk?.
struct LinearMixArgs {
  LinearMixInput in;
  LinearSolve solve = LinearSolve::Auto;
  int64_t chunk = 64;
};
LinearMixArgs linearMixArgs(const Napi::CallbackInfo& info, bool requireGrad) {
  LinearMixArgs a;
  auto tensor = [&](size_t i, const char* name) {
    if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return at::Tensor();
    at::Tensor t = TensorWrap::unwrap(info[i], name).detach();
    return requireGrad ? t.requires_grad_(true) : t;
  };
  a.in.x = tensor(0, "x");
  a.in.alpha = tensor(1, "alpha");
  a.in.beta = tensor(2, "beta");
  a.in.bias = tensor(3, "bias");
  if (info.Length() > 5 && info[5].IsString()) a.solve = linearSolveFromName(info[5].As<Napi::String>().Utf8Value());
  if (info.Length() > 6 && info[6].IsNumber()) a.chunk = info[6].As<Napi::Number>().Int64Value();
  return a;
}

// linearMixing(x [H, m, b, dh], alpha [H, c, m, KA], beta | null, bias [H, m] | null, spec, solve?, chunk?): Tensor
// — ops/linear_mixing.h from position 0.
Napi::Value linearMixingForward(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    torch::NoGradGuard noGrad;
    LinearPattern pattern = linearPatternFromJs(objectArg(info, 4, "spec"));
    LinearMixArgs a = linearMixArgs(info, false);
    return TensorWrap::wrap(info.Env(), linearMixing(pattern, a.in, a.solve, a.chunk));
  });
}

// linearMixingBackward(x, alpha, beta | null, bias | null, spec, solve, chunk, gradOutput): { x, alpha, beta?, bias? }.
Napi::Value linearMixingBackward(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    LinearPattern pattern = linearPatternFromJs(objectArg(info, 4, "spec"));
    LinearMixArgs a = linearMixArgs(info, true);
    at::Tensor gy = TensorWrap::unwrap(info[7], "gradOutput");
    at::Tensor y = linearMixing(pattern, a.in, a.solve, a.chunk);
    require(gy.sizes() == y.sizes(), "gradOutput must have the output's shape", "SHAPE_MISMATCH");
    return inputGradients(info.Env(), y, gy, {{"x", a.in.x}, {"alpha", a.in.alpha}, {"beta", a.in.beta}, {"bias", a.in.bias}});
  });
}

}  // namespace

void defineOps(Napi::Env env, Napi::Object exports) {
  exports.Set("decayedScan", Napi::Function::New(env, decayedScanForward, "decayedScan"));
  exports.Set("decayedScanBackward", Napi::Function::New(env, decayedScanBackward, "decayedScanBackward"));
  exports.Set("repeatMixing", Napi::Function::New(env, repeatMixingForward, "repeatMixing"));
  exports.Set("repeatMixingBackward", Napi::Function::New(env, repeatMixingBackward, "repeatMixingBackward"));
  exports.Set("maskedMixing", Napi::Function::New(env, maskedMixingForward, "maskedMixing"));
  exports.Set("maskedMixingBackward", Napi::Function::New(env, maskedMixingBackward, "maskedMixingBackward"));
  exports.Set("linearPatternReads", Napi::Function::New(env, linearPatternReads, "linearPatternReads"));
  exports.Set("linearMixing", Napi::Function::New(env, linearMixingForward, "linearMixing"));
  exports.Set("linearMixingBackward", Napi::Function::New(env, linearMixingBackward, "linearMixingBackward"));
  exports.Set("linearCrossEntropy", Napi::Function::New(env, linearCrossEntropyOp, "linearCrossEntropy"));
  exports.Set("quantizeRows", Napi::Function::New(env, quantizeRowsOp, "quantizeRows"));
  exports.Set("fragmentOrder", Napi::Function::New(env, fragmentOrderOp, "fragmentOrder"));
  exports.Set("probeDecodeGemv", Napi::Function::New(env, probeDecodeGemvOp, "probeDecodeGemv"));
}

}  // namespace maskmix
