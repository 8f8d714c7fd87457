#include "ops/masked_mixing.h"

#include <torch/autograd.h>

#include "common/error.h"
#include "common/torch_compat.h"

namespace maskmix {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Backward by hand rather than through autograd of tril+matmul, so that the weight gradient is one GEMM over
// the folded (batch·channel) axis and arrives already masked.
struct MaskedMixingFunction : public torch::autograd::Function<MaskedMixingFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
    at::Tensor masked = weight.tril();
    at::Tensor flat = x.contiguous().view({x.size(0), -1});
    ctx->save_for_backward({flat, masked});
    return at::addmm(bias.view({-1, 1}), masked, flat).view(x.sizes());
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& flat = saved[0];  // x as [t, b·d]
    const at::Tensor& masked = saved[1];
    at::Tensor gy = grads[0].contiguous().view(flat.sizes());
    at::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(0)) gx = at::mm(masked.t(), gy).view(grads[0].sizes());
    // dL/dW[t,s] = Σ_{b,c} gy[t,(b,c)]·x[s,(b,c)]: one GEMM reducing over batch and channels, then masked.
    if (ctx->needs_input_grad(1)) gw = at::mm(gy, flat.t()).tril_();
    if (ctx->needs_input_grad(2)) gb = gy.sum(1);
    return {gx, gw, gb};
  }
};

}  // namespace

at::Tensor maskedMixing(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  require(x.dim() == 3, "masked mixing expects token-major x of shape [tokens, batch, channels]", "SHAPE_MISMATCH");
  int64_t t = x.size(0);
  require(weight.dim() == 2 && weight.size(0) == t && weight.size(1) == t,
          "masked mixing weight must be [" + std::to_string(t) + ", " + std::to_string(t) + "]", "SHAPE_MISMATCH");
  require(bias.dim() == 1 && bias.size(0) == t, "masked mixing bias must be [" + std::to_string(t) + "]", "SHAPE_MISMATCH");
  require(compat::autocastDtypeFor(x) || (x.scalar_type() == weight.scalar_type() && x.scalar_type() == bias.scalar_type()),
          "masked mixing inputs must share one dtype", "DTYPE_MISMATCH");
  // A custom function is invisible to autocast, so apply its policy here: run the GEMMs in the autocast dtype.
  if (auto dtype = compat::autocastDtypeFor(x)) return MaskedMixingFunction::apply(x.to(*dtype), weight.to(*dtype), bias.to(*dtype));
  return MaskedMixingFunction::apply(x, weight, bias);
}

}  // namespace maskmix

namespace maskmix {

at::Tensor maskedKernelMatrices(const at::Tensor& weight, MixingMask mask, bool softmax) {
  require(weight.dim() == 3, "mixing weight taps must be [k, rows, cols]", "SHAPE_MISMATCH");
  at::Tensor allowed = at::ones({weight.size(1), weight.size(2)}, weight.options().dtype(at::kBool));
  allowed = mask == MixingMask::Causal ? allowed.tril() : allowed.triu(2);
  if (!softmax) return weight * allowed;
  // A large finite fill rather than −inf: rows with no allowed entry then soften to a constant, and the product
  // with the mask zeroes them without NaNs in either direction.
  at::Tensor logits = weight.masked_fill(allowed.logical_not(), -1e9);
  return at::softmax(logits, -1) * allowed;
}

at::Tensor maskedKernelMixing(const at::Tensor& x, const at::Tensor& matrices, const at::Tensor& bias) {
  require(x.dim() == 3 && matrices.dim() == 3 && matrices.size(2) == x.size(0), "kernel mixing needs x [c, b, f] and matrices [k, r, c]",
          "SHAPE_MISMATCH");
  require(bias.dim() == 1 && bias.size(0) == matrices.size(1), "kernel mixing bias must have one entry per output row", "SHAPE_MISMATCH");
  int64_t k = matrices.size(0), r = matrices.size(1), c = x.size(0), f = x.size(2);
  at::Tensor y;
  if (k == 1) {
    y = at::matmul(matrices.select(0, 0), x.reshape({c, -1}));
  } else {
    int64_t left = (k - 1) / 2;  // PyTorch's 'same' padding: the odd one out goes right
    at::Tensor padded = at::constant_pad_nd(x, {left, k - 1 - left});
    for (int64_t j = 0; j < k; ++j) {
      at::Tensor term = at::matmul(matrices.select(0, j), padded.narrow(2, j, f).reshape({c, -1}));
      y = y.defined() ? y + term : term;
    }
  }
  return (y + bias.unsqueeze(1).to(y.scalar_type())).view({r, x.size(1), f});
}

}  // namespace maskmix
