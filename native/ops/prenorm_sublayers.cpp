#include "ops/prenorm_sublayers.h"

#include <torch/autograd.h>

#include "common/error.h"
#include "common/torch_compat.h"
#include "ops/gelu_backward.h"
#include "ops/layer_norm.h"

namespace maskmix {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Statistics travel through saved tensors plus one flag of which implementation made them.
void saveStats(AutogradContext* ctx, const NormStats& stats) { ctx->saved_data["kernel"] = stats.kernel; }
NormStats loadStats(AutogradContext* ctx, const at::Tensor& mean, const at::Tensor& rstd) {
  return NormStats{mean, rstd, ctx->saved_data["kernel"].toBool()};
}

struct MixSublayerFunction : public torch::autograd::Function<MixSublayerFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& lnWeight, const at::Tensor& lnBias,
                            double eps, const at::Tensor& mixWeight, const at::Tensor& mixBias, bool causal) {
    at::ScalarType dtype = compat::computeDtypeFor(x);
    int64_t t = x.size(0);
    auto [normed, stats] = layerNormForward(x, lnWeight, lnBias, eps, dtype);
    at::Tensor masked = causal ? mixWeight.tril().to(dtype) : mixWeight.to(dtype);
    at::Tensor mixed = at::addmm(mixBias.to(dtype).view({t, 1}), masked, normed.view({t, -1}));
    ctx->save_for_backward({x, stats.mean, stats.rstd, lnWeight, lnBias, masked});
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["causal"] = causal;
    saveStats(ctx, stats);
    return x + mixed.view(x.sizes());
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto s = ctx->get_saved_variables();
    const at::Tensor &x = s[0], &mean = s[1], &rstd = s[2], &lnWeight = s[3], &lnBias = s[4], &masked = s[5];
    double eps = ctx->saved_data["eps"].toDouble();
    at::ScalarType dtype = masked.scalar_type();
    int64_t t = x.size(0);
    at::Tensor gout = grads[0].contiguous();
    NormStats stats = loadStats(ctx, mean, rstd);
    at::Tensor normed = layerNormRecompute(x, lnWeight, lnBias, eps, stats, dtype).view({t, -1});
    at::Tensor gy = gout.to(dtype).view({t, -1});
    at::Tensor gMixWeight = at::mm(gy, normed.t());
    if (ctx->saved_data["causal"].toBool()) gMixWeight.tril_();
    gMixWeight = gMixWeight.to(x.scalar_type());
    at::Tensor gMixBias = gout.view({t, -1}).sum(1);
    at::Tensor gNormed = at::mm(masked.t(), gy).view(x.sizes());
    // The residual branch's gradient (gout) is added inside the LayerNorm backward.
    auto [gx, gLnWeight, gLnBias] = layerNormBackward(gNormed, x, lnWeight, lnBias, stats, gout);
    return {gx, gLnWeight, gLnBias, at::Tensor(), gMixWeight, gMixBias, at::Tensor()};
  }
};

struct FeedForwardSublayerFunction : public torch::autograd::Function<FeedForwardSublayerFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& lnWeight, const at::Tensor& lnBias, double eps,
                            const at::Tensor& w1, const at::Tensor& b1, const at::Tensor& w2, const at::Tensor& b2) {
    at::ScalarType dtype = compat::computeDtypeFor(x);
    int64_t d = x.size(-1);
    auto [normed, stats] = layerNormForward(x, lnWeight, lnBias, eps, dtype);
    at::Tensor w1c = w1.to(dtype), w2c = w2.to(dtype);
    at::Tensor pre = at::addmm(b1.to(dtype), normed.view({-1, d}), w1c.t());
    at::Tensor y = at::addmm(b2.to(dtype), at::gelu(pre), w2c.t());
    ctx->save_for_backward({x, stats.mean, stats.rstd, lnWeight, lnBias, w1c, w2c, pre});
    ctx->saved_data["eps"] = eps;
    saveStats(ctx, stats);
    return x + y.view(x.sizes());
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto s = ctx->get_saved_variables();
    const at::Tensor &x = s[0], &mean = s[1], &rstd = s[2], &lnWeight = s[3], &lnBias = s[4], &w1c = s[5], &w2c = s[6], &pre = s[7];
    double eps = ctx->saved_data["eps"].toDouble();
    at::ScalarType dtype = w1c.scalar_type(), master = x.scalar_type();
    int64_t d = x.size(-1);
    at::Tensor gout = grads[0].contiguous().view({-1, d});
    NormStats stats = loadStats(ctx, mean, rstd);
    at::Tensor normed = layerNormRecompute(x, lnWeight, lnBias, eps, stats, dtype).view({-1, d});
    at::Tensor gy = gout.to(dtype);
    at::Tensor gB2 = gout.sum(0);
    // GELU(pre) recomputed, pre's gradient and b1's in one pass over the hidden layer (ops/gelu_backward.h).
    GeluBackward gelu = geluBackwardWithBiasGrad(pre, at::mm(gy, w2c), master);
    const at::Tensor& gPre = gelu.gradPre;
    at::Tensor gW2 = at::mm(gy.t(), gelu.activated).to(master);
    at::Tensor gW1 = at::mm(gPre.t(), normed).to(master);
    at::Tensor& gB1 = gelu.gradBias;
    at::Tensor gNormed = at::mm(gPre, w1c).view(x.sizes());
    auto [gx, gLnWeight, gLnBias] = layerNormBackward(gNormed, x, lnWeight, lnBias, stats, gout);
    return {gx, gLnWeight, gLnBias, at::Tensor(), gW1, gB1, gW2, gB2};
  }
};

}  // namespace

at::Tensor mixSublayer(const at::Tensor& x, const at::Tensor& lnWeight, const at::Tensor& lnBias, double eps,
                       const at::Tensor& mixWeight, const at::Tensor& mixBias, bool causal) {
  require(x.dim() == 3 && mixWeight.dim() == 2 && mixWeight.size(0) == x.size(0) && mixWeight.size(1) == x.size(0) &&
              mixBias.dim() == 1 && mixBias.size(0) == x.size(0),
          "mix sublayer expects token-major x [t, b, d] with a [t, t] mixing weight and [t] bias", "SHAPE_MISMATCH");
  return MixSublayerFunction::apply(x, lnWeight, lnBias, eps, mixWeight, mixBias, causal);
}

at::Tensor feedForwardSublayer(const at::Tensor& x, const at::Tensor& lnWeight, const at::Tensor& lnBias, double eps,
                               const at::Tensor& w1, const at::Tensor& b1, const at::Tensor& w2, const at::Tensor& b2) {
  require(w1.dim() == 2 && w1.size(1) == x.size(-1) && w2.dim() == 2 && w2.size(0) == x.size(-1) && w2.size(1) == w1.size(0),
          "feed-forward sublayer weights do not match the input width", "SHAPE_MISMATCH");
  return FeedForwardSublayerFunction::apply(x, lnWeight, lnBias, eps, w1, b1, w2, b2);
}

}  // namespace maskmix
