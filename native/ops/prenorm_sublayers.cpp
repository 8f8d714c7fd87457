#include "ops/prenorm_sublayers.h"

#include <torch/autograd.h>

#include <optional>
#include <utility>

#include "common/error.h"
#include "common/torch_compat.h"
#include "ops/block_partials.h"
#include "ops/causal_products.h"
#include "ops/gelu_backward.h"
#include "ops/layer_norm.h"
#include "tensor/compute_copies.h"

namespace maskmix {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// What both sublayer functions keep besides their tensors: what their LayerNorm kept (which implementation, input or
// output), and how their output and the residual add were arranged (deferred or not, with or without an incoming
// pending output).
void saveLayout(AutogradContext* ctx, const LayerNormSaved& norm, double eps, bool deferred, const at::Tensor& pending) {
  ctx->set_materialize_grads(false);  // an unused output's gradient stays undefined (handled in outputGradients)
  ctx->saved_data["kernel"] = norm.stats.kernel;
  ctx->saved_data["normOutput"] = norm.output;
  ctx->saved_data["eps"] = eps;
  ctx->saved_data["deferred"] = deferred;
  ctx->saved_data["pendingDtype"] = pending.defined() ? static_cast<int64_t>(pending.scalar_type()) : int64_t(-1);
}
// The saved tensors' first three are the LayerNorm's (saveNorm); `saved` are all of them.
std::vector<at::Tensor> saveNorm(const LayerNormSaved& norm) { return {norm.tensor, norm.stats.mean, norm.stats.rstd}; }
LayerNormSaved loadNorm(AutogradContext* ctx, const tensor_list& saved) {
  return LayerNormSaved{saved[0], NormStats{saved[1], saved[2], ctx->saved_data["kernel"].toBool()}, ctx->saved_data["normOutput"].toBool()};
}
// The float32 residual stream's shape and options (gradients of the stream), whichever tensor the LayerNorm kept.
at::Tensor streamZeros(const LayerNormSaved& norm, const at::Tensor& lnWeight) { return at::zeros(norm.tensor.sizes(), lnWeight.options()); }

// Outputs: not deferred, the block's x + out (normalised: the LayerNorm's input); deferred, the new stream (only
// when a pending output was added into it) and out as the next pending.
tensor_list sublayerOutputs(bool deferred, const at::Tensor& pending, const LayerNormOutput& ln, const at::Tensor& out) {
  if (!deferred) return {ln.input + out};
  if (pending.defined()) return {ln.input, out};
  return {out};
}

// The backward's view of the output gradient: the sublayer output's gradient in the compute dtype, the residual
// stream's gradient (added inside the LayerNorm backward; undefined when no stream output), and the dtype the
// incoming pending output's gradient is wanted in (none when there was no pending).
struct OutputGradients {
  at::Tensor out, residual, outMaster;  // outMaster: not deferred, the float32 gradient the bias sums read
  std::optional<at::ScalarType> pendingDtype;
};
OutputGradients outputGradients(AutogradContext* ctx, const tensor_list& grads, const LayerNormSaved& norm, const at::Tensor& lnWeight,
                                at::ScalarType dtype) {
  OutputGradients g;
  auto orZeros = [&](const at::Tensor& t) { return t.defined() ? t.contiguous() : streamZeros(norm, lnWeight); };
  int64_t pendingDtype = ctx->saved_data["pendingDtype"].toInt();
  if (pendingDtype >= 0) g.pendingDtype = static_cast<at::ScalarType>(pendingDtype);
  if (!ctx->saved_data["deferred"].toBool()) {
    g.outMaster = orZeros(grads[0]);
    g.residual = g.outMaster;
    g.out = g.outMaster.to(dtype);
    return g;
  }
  g.out = orZeros(grads.back()).to(dtype);
  if (grads.size() == 2) g.residual = grads[0];
  return g;
}

// Σ over `dim` of the output gradient for a bias, in the master dtype: from the float32 gradient when there is
// one (not deferred), else from the compute-dtype gradient with float32 accumulation.
at::Tensor biasGradient(const OutputGradients& g, int64_t rows, int64_t dim, at::ScalarType master) {
  const at::Tensor& source = g.outMaster.defined() ? g.outMaster : g.out;
  if (dim == 0) return sumOverRows(source.reshape({rows, -1}), master);
  return at::sum(source.reshape({rows, -1}), {dim}, /*keepdim=*/false, master);
}

// Function::apply records every tensor input's device, so "no pending output" travels as an empty tensor.
at::Tensor pendingInput(const at::Tensor& pending, const at::Tensor& x) { return pending.defined() ? pending : at::empty({0}, x.options()); }
at::Tensor pendingOrNone(const at::Tensor& input) { return input.numel() > 0 ? input : at::Tensor(); }

// The mixing bias (one value per output position t) as one more term of the product: [bias | 0 | M] · [1 ; 0 ; y].
// addmm with a [t, 1] bias broadcast it into the output in a pass of its own (an elementwise kernel over the whole
// [t, b·d] output) and then ran a GEMM that read it back; here the LayerNorm wrote y into the trailing t rows of
// `padded` ([kBiasRows + t, b, d]), and the leading rows hold one row of ones and zeros (K stays a multiple of 8, so
// every row of both operands stays 16-byte aligned for the tensor cores). On an H100 the L8 mixer's step took 19.65
// ms against 19.78 with addmm (docs/benchmarks/h100-2026-12-07g). The bias leads so that a causal product can stop
// each row panel at its last position (ops/causal_products.h). Returns (M in the compute dtype, a view of the
// extended matrix, for the backward; the mixed output [t, b·d]).
constexpr int64_t kBiasRows = 8;
std::pair<at::Tensor, at::Tensor> mixWithBiasRow(const at::Tensor& mixWeight, const at::Tensor& mixBias, bool causal, const at::Tensor& padded,
                                                 at::ScalarType dtype) {
  const int64_t t = mixWeight.size(0);
  at::Tensor weight = causal ? mixWeight.tril() : mixWeight;
  at::Tensor extended = at::cat({at::constant_pad_nd(mixBias.view({t, 1}), {0, kBiasRows - 1}), weight}, 1).to(dtype);
  at::Tensor head = padded.narrow(0, 0, kBiasRows);
  head.zero_();
  head.select(0, 0).fill_(1);
  at::Tensor operand = padded.view({kBiasRows + t, -1});
  at::Tensor mixed = causal ? causalProduct(extended, operand, kBiasRows) : at::mm(extended, operand);
  return {extended.narrow(1, kBiasRows, t), mixed};
}

struct MixSublayerFunction : public torch::autograd::Function<MixSublayerFunction> {
  static tensor_list forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& pendingIn, const at::Tensor& lnWeight,
                             const at::Tensor& lnBias, double eps, const at::Tensor& mixWeight, const at::Tensor& mixBias, bool causal,
                             bool deferred) {
    at::Tensor pending = pendingOrNone(pendingIn);
    at::ScalarType dtype = compat::computeDtypeFor(x);
    LayerNormOutput ln = layerNormForward(x, lnWeight, lnBias, eps, dtype, pending, kBiasRows);
    auto [masked, mixed] = mixWithBiasRow(mixWeight, mixBias, causal, ln.padded, dtype);
    LayerNormSaved norm = layerNormSaved(ln);
    std::vector<at::Tensor> saved = saveNorm(norm);
    saved.insert(saved.end(), {lnWeight, lnBias, masked});
    ctx->save_for_backward(saved);
    ctx->saved_data["causal"] = causal;
    saveLayout(ctx, norm, eps, deferred, pending);
    return sublayerOutputs(deferred, pending, ln, mixed.view(x.sizes()));
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto s = ctx->get_saved_variables();
    const at::Tensor &lnWeight = s[3], &lnBias = s[4], &masked = s[5];
    LayerNormSaved norm = loadNorm(ctx, s);
    double eps = ctx->saved_data["eps"].toDouble();
    at::ScalarType dtype = masked.scalar_type(), master = lnWeight.scalar_type();
    at::IntArrayRef shape = norm.tensor.sizes();
    int64_t t = shape[0];
    OutputGradients g = outputGradients(ctx, grads, norm, lnWeight, dtype);
    at::Tensor normed = layerNormNormed(norm, lnWeight, lnBias, eps, dtype).view({t, -1});
    at::Tensor gy = g.out.view({t, -1});
    bool causal = ctx->saved_data["causal"].toBool();
    at::Tensor gMixWeight = causal ? causalWeightGradient(gy, normed, master) : compat::mmAs(gy, normed.t(), master);
    at::Tensor gMixBias = biasGradient(g, t, 1, master);
    at::Tensor gNormed = (causal ? causalTransposedProduct(masked, gy) : at::mm(masked.t(), gy)).view(shape);
    // The residual stream's gradient is added inside the LayerNorm backward.
    LayerNormGradients ln = layerNormBackward(gNormed, norm, lnWeight, lnBias, g.residual, g.pendingDtype);
    return {ln.x, ln.xCopy, ln.w, ln.b, at::Tensor(), gMixWeight, gMixBias, at::Tensor(), at::Tensor()};
  }
};

struct FeedForwardSublayerFunction : public torch::autograd::Function<FeedForwardSublayerFunction> {
  static tensor_list forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& pendingIn, const at::Tensor& lnWeight,
                             const at::Tensor& lnBias, double eps, const at::Tensor& w1, const at::Tensor& b1, const at::Tensor& w2,
                             const at::Tensor& b2, bool deferred) {
    at::Tensor pending = pendingOrNone(pendingIn);
    at::ScalarType dtype = compat::computeDtypeFor(x);
    int64_t d = x.size(-1);
    LayerNormOutput ln = layerNormForward(x, lnWeight, lnBias, eps, dtype, pending);
    at::Tensor w1c = computeCopy(w1, dtype), w2c = computeCopy(w2, dtype);
    at::Tensor pre = at::addmm(b1.to(dtype), ln.y.view({-1, d}), w1c.t());
    at::Tensor y = at::addmm(b2.to(dtype), at::gelu(pre), w2c.t());
    LayerNormSaved norm = layerNormSaved(ln);
    std::vector<at::Tensor> saved = saveNorm(norm);
    saved.insert(saved.end(), {lnWeight, lnBias, w1c, w2c, pre});
    ctx->save_for_backward(saved);
    saveLayout(ctx, norm, eps, deferred, pending);
    return sublayerOutputs(deferred, pending, ln, y.view(x.sizes()));
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto s = ctx->get_saved_variables();
    const at::Tensor &lnWeight = s[3], &lnBias = s[4], &w1c = s[5], &w2c = s[6], &pre = s[7];
    LayerNormSaved norm = loadNorm(ctx, s);
    double eps = ctx->saved_data["eps"].toDouble();
    at::ScalarType dtype = w1c.scalar_type(), master = lnWeight.scalar_type();
    at::IntArrayRef shape = norm.tensor.sizes();
    int64_t d = shape.back();
    OutputGradients g = outputGradients(ctx, grads, norm, lnWeight, dtype);
    at::Tensor normed = layerNormNormed(norm, lnWeight, lnBias, eps, dtype).view({-1, d});
    at::Tensor gy = g.out.view({-1, d});
    at::Tensor gB2 = biasGradient(g, gy.size(0), 0, master);
    // GELU(pre) recomputed, pre's gradient and b1's in one pass over the hidden layer (ops/gelu_backward.h).
    GeluBackward gelu = geluBackwardWithBiasGrad(pre, at::mm(gy, w2c), master);
    const at::Tensor& gPre = gelu.gradPre;
    at::Tensor gW2 = compat::mmAs(gy.t(), gelu.activated, master);
    at::Tensor gW1 = compat::mmAs(gPre.t(), normed, master);
    at::Tensor& gB1 = gelu.gradBias;
    at::Tensor gNormed = at::mm(gPre, w1c).view(shape);
    LayerNormGradients ln = layerNormBackward(gNormed, norm, lnWeight, lnBias, g.residual, g.pendingDtype);
    return {ln.x, ln.xCopy, ln.w, ln.b, at::Tensor(), gW1, gB1, gW2, gB2, at::Tensor()};
  }
};

void requireMixShapes(const at::Tensor& x, const at::Tensor& mixWeight, const at::Tensor& mixBias) {
  require(x.dim() == 3 && mixWeight.dim() == 2 && mixWeight.size(0) == x.size(0) && mixWeight.size(1) == x.size(0) &&
              mixBias.dim() == 1 && mixBias.size(0) == x.size(0),
          "mix sublayer expects token-major x [t, b, d] with a [t, t] mixing weight and [t] bias", "SHAPE_MISMATCH");
}

void requireFeedForwardShapes(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& w2) {
  require(w1.dim() == 2 && w1.size(1) == x.size(-1) && w2.dim() == 2 && w2.size(0) == x.size(-1) && w2.size(1) == w1.size(0),
          "feed-forward sublayer weights do not match the input width", "SHAPE_MISMATCH");
}

void requirePending(const DeferredResidual& in) {
  require(!in.pending.defined() || in.pending.sizes() == in.stream.sizes(), "a deferred sublayer output must have the stream's shape",
          "SHAPE_MISMATCH");
}

DeferredResidual deferredResult(const DeferredResidual& in, const tensor_list& out) {
  return out.size() == 2 ? DeferredResidual{out[0], out[1]} : DeferredResidual{in.stream, out[0]};
}

}  // namespace

at::Tensor mixSublayer(const at::Tensor& x, const at::Tensor& lnWeight, const at::Tensor& lnBias, double eps,
                       const at::Tensor& mixWeight, const at::Tensor& mixBias, bool causal) {
  requireMixShapes(x, mixWeight, mixBias);
  return MixSublayerFunction::apply(x, pendingInput({}, x), lnWeight, lnBias, eps, mixWeight, mixBias, causal, false)[0];
}

at::Tensor feedForwardSublayer(const at::Tensor& x, const at::Tensor& lnWeight, const at::Tensor& lnBias, double eps,
                               const at::Tensor& w1, const at::Tensor& b1, const at::Tensor& w2, const at::Tensor& b2) {
  requireFeedForwardShapes(x, w1, w2);
  return FeedForwardSublayerFunction::apply(x, pendingInput({}, x), lnWeight, lnBias, eps, w1, b1, w2, b2, false)[0];
}

DeferredResidual mixSublayer(const DeferredResidual& in, const at::Tensor& lnWeight, const at::Tensor& lnBias, double eps,
                             const at::Tensor& mixWeight, const at::Tensor& mixBias, bool causal) {
  requireMixShapes(in.stream, mixWeight, mixBias);
  requirePending(in);
  at::Tensor pending = pendingInput(in.pending, in.stream);
  return deferredResult(in, MixSublayerFunction::apply(in.stream, pending, lnWeight, lnBias, eps, mixWeight, mixBias, causal, true));
}

DeferredResidual feedForwardSublayer(const DeferredResidual& in, const at::Tensor& lnWeight, const at::Tensor& lnBias, double eps,
                                     const at::Tensor& w1, const at::Tensor& b1, const at::Tensor& w2, const at::Tensor& b2) {
  requireFeedForwardShapes(in.stream, w1, w2);
  requirePending(in);
  at::Tensor pending = pendingInput(in.pending, in.stream);
  return deferredResult(in, FeedForwardSublayerFunction::apply(in.stream, pending, lnWeight, lnBias, eps, w1, b1, w2, b2, true));
}

}  // namespace maskmix
