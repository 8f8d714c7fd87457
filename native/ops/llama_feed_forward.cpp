#include "ops/llama_feed_forward.h"

#include <torch/autograd.h>

#include "common/error.h"
#include "common/torch_compat.h"
#include "ops/llama_ops.h"

namespace maskmix {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

struct LlamaFeedForwardFunction : public torch::autograd::Function<LlamaFeedForwardFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& normWeight, double eps,
                            const at::Tensor& gateWeight, const at::Tensor& upWeight, const at::Tensor& downWeight) {
    at::ScalarType dtype = compat::computeDtypeFor(input);
    at::Tensor x = input.contiguous();
    int64_t d = x.size(-1);
    RmsNormOutput norm = rmsNormForward(x, normWeight, eps, dtype);
    at::Tensor h = norm.y.view({-1, d});
    at::Tensor gateC = gateWeight.to(dtype), upC = upWeight.to(dtype), downC = downWeight.to(dtype);
    at::Tensor gate = at::mm(h, gateC.t()), up = at::mm(h, upC.t());
    at::Tensor y = at::mm(swigluProduct(gate, up), downC.t());
    ctx->save_for_backward({x, normWeight, norm.rstd, gateC, upC, downC, gate, up});
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["master"] = static_cast<int64_t>(gateWeight.scalar_type());
    return x + y.view(x.sizes());
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto s = ctx->get_saved_variables();
    const at::Tensor &x = s[0], &normWeight = s[1], &rstd = s[2], &gateC = s[3], &upC = s[4], &downC = s[5], &gate = s[6], &up = s[7];
    double eps = ctx->saved_data["eps"].toDouble();
    auto master = static_cast<at::ScalarType>(ctx->saved_data["master"].toInt());
    at::ScalarType dtype = gateC.scalar_type();
    int64_t d = x.size(-1);
    at::Tensor gout = grads[0].contiguous().view({-1, d});
    at::Tensor gy = gout.to(dtype);
    // silu(gate)·up again for down's weight gradient, freed before the hidden-width gradients are made.
    at::Tensor act = swigluProduct(gate, up);
    at::Tensor gDown = at::mm(gy.t(), act).to(master);
    act.reset();
    SwigluGradients swiglu = swigluGradients(at::mm(gy, downC), gate, up);
    at::Tensor gGate = std::move(swiglu.gate), gUp = std::move(swiglu.up);
    at::Tensor h = rmsNormRecompute(x, normWeight, rstd, eps, dtype).view({-1, d});
    at::Tensor gGateW = at::mm(gGate.t(), h).to(master);
    at::Tensor gUpW = at::mm(gUp.t(), h).to(master);
    h.reset();
    at::Tensor gH = at::addmm(at::mm(gGate, gateC), gUp, upC);
    gGate.reset();
    gUp.reset();
    // The residual branch's gradient is added inside the norm's backward.
    RmsNormGradients norm = rmsNormBackward(gH.view(x.sizes()), x, false, x.scalar_type(), normWeight, rstd, gout.view(x.sizes()));
    return {norm.x, norm.weight, at::Tensor(), gGateW, gUpW, gDown};
  }
};

}  // namespace

at::Tensor llamaFeedForward(const at::Tensor& x, const at::Tensor& normWeight, double eps, const at::Tensor& gateWeight,
                            const at::Tensor& upWeight, const at::Tensor& downWeight) {
  int64_t d = x.size(-1), f = gateWeight.size(0);
  require(normWeight.dim() == 1 && normWeight.size(0) == d && gateWeight.dim() == 2 && gateWeight.size(1) == d &&
              upWeight.sizes() == gateWeight.sizes() && downWeight.dim() == 2 && downWeight.size(0) == d && downWeight.size(1) == f,
          "llama feed-forward weights do not match the input width", "SHAPE_MISMATCH");
  return LlamaFeedForwardFunction::apply(x, normWeight, eps, gateWeight, upWeight, downWeight);
}

}  // namespace maskmix
