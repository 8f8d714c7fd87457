#include "ops/llama_attention_input.h"

#include <torch/autograd.h>

#include "common/error.h"
#include "common/torch_compat.h"
#include "ops/llama_ops.h"

namespace maskmix {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

struct LlamaAttentionInputFunction : public torch::autograd::Function<LlamaAttentionInputFunction> {
  static tensor_list forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& normWeight, double eps,
                             const at::Tensor& qWeight, const at::Tensor& kWeight, const at::Tensor& vWeight, const at::Tensor& cos,
                             const at::Tensor& sin, int64_t heads) {
    at::ScalarType dtype = compat::computeDtypeFor(input);
    at::Tensor x = input.contiguous();
    int64_t b = x.size(0), t = x.size(1), d = x.size(2);
    RmsNormOutput norm = rmsNormForward(x, normWeight, eps, dtype);
    at::Tensor h = norm.y.view({-1, d});
    at::Tensor qC = qWeight.to(dtype), kC = kWeight.to(dtype), vC = vWeight.to(dtype);
    auto split = [&](const at::Tensor& y) { return y.view({b, t, heads, d / heads}); };
    at::Tensor q = rotaryRotate(split(at::mm(h, qC.t())), cos, sin, false);
    at::Tensor k = rotaryRotate(split(at::mm(h, kC.t())), cos, sin, false);
    at::Tensor v = split(at::mm(h, vC.t()));
    ctx->save_for_backward({x, normWeight, norm.rstd, qC, kC, vC, cos, sin});
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["master"] = static_cast<int64_t>(qWeight.scalar_type());
    return {q, k, v};
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto s = ctx->get_saved_variables();
    const at::Tensor &x = s[0], &normWeight = s[1], &rstd = s[2], &qC = s[3], &kC = s[4], &vC = s[5], &cos = s[6], &sin = s[7];
    double eps = ctx->saved_data["eps"].toDouble();
    auto master = static_cast<at::ScalarType>(ctx->saved_data["master"].toInt());
    at::ScalarType dtype = qC.scalar_type();
    int64_t d = x.size(-1);
    // Rotation is orthogonal: its backward rotates the gradient back.
    at::Tensor gq = rotaryRotate(grads[0].to(dtype), cos, sin, true).view({-1, d});
    at::Tensor gk = rotaryRotate(grads[1].to(dtype), cos, sin, true).view({-1, d});
    at::Tensor gv = grads[2].to(dtype).contiguous().view({-1, d});
    at::Tensor h = rmsNormRecompute(x, normWeight, rstd, eps, dtype).view({-1, d});
    at::Tensor gQW = at::mm(gq.t(), h).to(master), gKW = at::mm(gk.t(), h).to(master), gVW = at::mm(gv.t(), h).to(master);
    h.reset();
    at::Tensor gH = at::addmm(at::addmm(at::mm(gq, qC), gk, kC), gv, vC);
    RmsNormGradients norm = rmsNormBackward(gH.view(x.sizes()), x, false, x.scalar_type(), normWeight, rstd);
    return {norm.x, norm.weight, at::Tensor(), gQW, gKW, gVW, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

std::tuple<at::Tensor, at::Tensor, at::Tensor> llamaAttentionInputs(const at::Tensor& x, const at::Tensor& normWeight, double eps,
                                                                    const at::Tensor& qWeight, const at::Tensor& kWeight,
                                                                    const at::Tensor& vWeight, const at::Tensor& cos,
                                                                    const at::Tensor& sin, int64_t heads) {
  require(x.dim() == 3 && heads > 0 && x.size(2) % heads == 0, "llama attention inputs expect x [b, t, d] with d divisible by heads",
          "SHAPE_MISMATCH");
  int64_t d = x.size(2);
  require(normWeight.dim() == 1 && normWeight.size(0) == d && qWeight.dim() == 2 && qWeight.size(0) == d && qWeight.size(1) == d &&
              kWeight.sizes() == qWeight.sizes() && vWeight.sizes() == qWeight.sizes(),
          "llama attention weights do not match the input width", "SHAPE_MISMATCH");
  require(cos.dim() == 2 && cos.size(0) == x.size(1) && cos.size(1) == d / heads && sin.sizes() == cos.sizes(),
          "rotary tables must be [t, headDim]", "SHAPE_MISMATCH");
  auto out = LlamaAttentionInputFunction::apply(x, normWeight, eps, qWeight, kWeight, vWeight, cos, sin, heads);
  return {out[0], out[1], out[2]};
}

}  // namespace maskmix
