#include "ops/llama_ops.h"

#include <torch/autograd.h>

#include "common/env_setting.h"
#include "common/error.h"
#include "ops/block_partials.h"
#include "tensor/compute_copies.h"

#ifdef MASKMIX_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>

#include "kernels/kernels.h"
#endif

namespace maskmix {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

#ifdef MASKMIX_WITH_CUDA
bool kernelDtype(at::ScalarType t) { return t == at::kFloat || t == at::kBFloat16; }
kernels::DType toKernel(at::ScalarType t) { return t == at::kBFloat16 ? kernels::DType::BFloat16 : kernels::DType::Float32; }
cudaStream_t stream() { return at::cuda::getCurrentCUDAStream().stream(); }
void checkLaunch(const char* what) {
  const char* error = kernels::lastError();
  if (error[0] != '\0') fail("INTERNAL", std::string(what) + " kernel failed: " + error);
}
#endif

// Whether the CUDA kernels take these tensors (else the libtorch composite runs).
bool useKernel(std::initializer_list<at::Tensor> tensors) {
#ifdef MASKMIX_WITH_CUDA
  for (const auto& t : tensors)
    if (!t.is_cuda() || !t.is_contiguous() || !kernelDtype(t.scalar_type())) return false;
  return true;
#else
  (void)tensors;
  return false;
#endif
}

}  // namespace

#ifdef MASKMIX_WITH_CUDA
// Whether the RMSNorm forward kernel takes these tensors (float32 input and weight, a kernel output dtype, a row
// width it handles).
static bool rmsNormKernelTakes(const at::Tensor& x, const at::Tensor& weight, at::ScalarType outDtype) {
  return useKernel({x, weight}) && x.scalar_type() == at::kFloat && weight.scalar_type() == at::kFloat && kernelDtype(outDtype) &&
         kernels::rowKernelsTake(x.size(-1));
}
#endif

RmsNormOutput rmsNormForward(const at::Tensor& input, const at::Tensor& weight, double eps, at::ScalarType outDtype,
                             const at::Tensor& deltaIn) {
  at::Tensor x = input.contiguous();
  at::Tensor delta = deltaIn.defined() ? deltaIn.contiguous() : at::Tensor();
  int64_t d = x.size(-1), rows = x.numel() / d;
#ifdef MASKMIX_WITH_CUDA
  if (rmsNormKernelTakes(x, weight, outDtype) && (!delta.defined() || (useKernel({delta}) && delta.sizes() == x.sizes()))) {
    at::Tensor sum = delta.defined() ? at::empty_like(x) : x;
    at::Tensor y = at::empty(x.sizes(), x.options().dtype(outDtype));
    at::Tensor rstd = at::empty({rows}, x.options().dtype(at::kFloat));
    kernels::rmsNormForward(x.data_ptr<float>(), delta.defined() ? delta.data_ptr() : nullptr,
                            toKernel(delta.defined() ? delta.scalar_type() : at::kFloat), delta.defined() ? sum.data_ptr<float>() : nullptr,
                            weight.data_ptr<float>(), y.data_ptr(), rstd.data_ptr<float>(), rows, d, static_cast<float>(eps),
                            toKernel(outDtype), stream());
    checkLaunch("rms norm forward");
    return {y, rstd, sum, true};
  }
#endif
  if (delta.defined()) x = x + delta;
  at::ScalarType accum = x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  at::Tensor xf = x.to(accum).view({rows, d});
  at::Tensor rstd = at::rsqrt(xf.pow(2).mean(-1) + eps);
  return {(xf * rstd.unsqueeze(1) * weight.to(accum)).to(outDtype).view(x.sizes()), rstd, x};
}

RmsNormGradients rmsNormBackward(const at::Tensor& gradY, const at::Tensor& savedIn, bool fromOutput, at::ScalarType inputDtype,
                                 const at::Tensor& weight, const at::Tensor& rstd, const at::Tensor& residualGrad,
                                 std::optional<at::ScalarType> copyDtype) {
  at::Tensor saved = savedIn.contiguous();
  int64_t d = saved.size(-1), rows = saved.numel() / d;
  at::TensorOptions xOptions = saved.options().dtype(inputDtype);
  // From the output, the kernel reads y in the gradient's dtype (both are the compute dtype of the layer).
  at::Tensor gy = gradY.defined() ? gradY.contiguous() : at::zeros(saved.sizes(), saved.options());
  if (fromOutput) gy = gy.to(saved.scalar_type());
  at::Tensor gr = residualGrad.defined() ? residualGrad.contiguous() : at::Tensor();
#ifdef MASKMIX_WITH_CUDA
  if (useKernel({gy, saved, weight}) && inputDtype == at::kFloat && (fromOutput || saved.scalar_type() == at::kFloat) &&
      weight.scalar_type() == at::kFloat && kernels::rowKernelsTake(d) &&
      (!gr.defined() || (useKernel({gr}) && gr.scalar_type() == at::kFloat && gr.sizes() == saved.sizes())) &&
      (!copyDtype || kernelDtype(*copyDtype))) {
    at::Tensor gx = at::empty(saved.sizes(), xOptions);
    // gx again in the copy's dtype, a tensor of its own even in float32: the autograd engine may accumulate into
    // either gradient in place.
    at::Tensor copy = copyDtype ? at::empty(saved.sizes(), saved.options().dtype(*copyDtype)) : at::Tensor();
    at::Tensor partial = at::empty({kernels::normBackwardBlocks(rows), d}, xOptions);
    kernels::rmsNormBackward(gy.data_ptr(), toKernel(gy.scalar_type()), saved.data_ptr(), fromOutput, weight.data_ptr<float>(),
                             rstd.data_ptr<float>(), gr.defined() ? gr.data_ptr<float>() : nullptr, gx.data_ptr<float>(),
                             copy.defined() ? copy.data_ptr() : nullptr, toKernel(copyDtype.value_or(at::kFloat)),
                             partial.data_ptr<float>(), rows, d, stream());
    checkLaunch("rms norm backward");
    return {gx, copy, sumBlockPartials(partial, weight.scalar_type())};
  }
#endif
  // The same arithmetic as the kernel, in x̂ = x·rstd (or y/w, |w| floored at 1e-6 as the kernel does).
  at::ScalarType accum = rstd.scalar_type();
  at::Tensor r = rstd.unsqueeze(1);
  at::Tensor w = weight.to(accum);
  at::Tensor xhat = saved.to(accum).view({rows, d});
  if (fromOutput) {
    at::Tensor floored = w.abs().clamp_min(1e-6);
    xhat = xhat / at::where(w < 0, -floored, floored);
  } else {
    xhat = xhat * r;
  }
  at::Tensor g = gy.to(accum).view({rows, d});
  at::Tensor wg = g * w;
  at::Tensor meanDot = (wg * xhat).mean(-1, /*keepdim=*/true);
  at::Tensor gx = (r * (wg - xhat * meanDot)).to(inputDtype).view(saved.sizes());
  if (gr.defined()) gx = gx + gr;
  at::Tensor copy = copyDtype ? gx.to(*copyDtype, /*non_blocking=*/false, /*copy=*/true) : at::Tensor();  // see the kernel path
  return {gx, copy, (g * xhat).sum(0).to(weight.scalar_type())};
}

bool rmsNormKeepsOutput(const RmsNormOutput& forward) {
  static const bool keepInput = envIs("MASKMIX_RMSNORM_SAVES", "input");  // read once, not on every forward
  return forward.kernel && !keepInput;
}

at::Tensor swigluProduct(const at::Tensor& gate, const at::Tensor& up) {
#ifdef MASKMIX_WITH_CUDA
  at::Tensor out = at::empty_like(gate);
  if (useKernel({gate, up}) && gate.scalar_type() == up.scalar_type() &&
      kernels::elementwiseTakes(gate.numel(), gate.data_ptr(), up.data_ptr(), out.data_ptr())) {
    kernels::swigluForward(gate.data_ptr(), up.data_ptr(), out.data_ptr(), gate.numel(), toKernel(gate.scalar_type()), stream());
    checkLaunch("swiglu forward");
    return out;
  }
#endif
  return at::silu(gate) * up;
}

SwigluGradients swigluGradients(const at::Tensor& gradOut, const at::Tensor& gate, const at::Tensor& up, bool withProduct) {
  at::Tensor go = gradOut.contiguous();
#ifdef MASKMIX_WITH_CUDA
  at::Tensor gg = at::empty_like(gate), gu = at::empty_like(up);
  at::Tensor product = withProduct ? at::empty_like(gate) : at::Tensor();
  if (useKernel({go, gate, up}) && go.scalar_type() == gate.scalar_type() &&
      kernels::elementwiseTakes(gate.numel(), go.data_ptr(), gate.data_ptr(), up.data_ptr()) &&
      (!withProduct || kernels::elementwiseTakes(gate.numel(), product.data_ptr(), gg.data_ptr(), gu.data_ptr()))) {
    kernels::swigluBackward(go.data_ptr(), gate.data_ptr(), up.data_ptr(), gg.data_ptr(), gu.data_ptr(),
                            withProduct ? product.data_ptr() : nullptr, gate.numel(), toKernel(gate.scalar_type()), stream());
    checkLaunch("swiglu backward");
    return {gg, gu, product};
  }
#endif
  at::Tensor sig = at::sigmoid(gate);
  return {go * up * sig * (1 + gate * (1 - sig)), go * gate * sig, withProduct ? gate * sig * up : at::Tensor()};
}

namespace {

// What the saving norm functions keep for backward: y (when the kernel made it) or the normalised input, with the
// weight and rstd, and how to read them back.
void saveNorm(AutogradContext* ctx, const RmsNormOutput& out, at::ScalarType inputDtype, const at::Tensor& weight) {
  const bool fromOutput = rmsNormKeepsOutput(out);
  ctx->save_for_backward({fromOutput ? out.y : out.input, weight, out.rstd});
  ctx->saved_data["fromOutput"] = fromOutput;
  ctx->saved_data["inputDtype"] = static_cast<int64_t>(inputDtype);
}

struct RmsNormFunction : public torch::autograd::Function<RmsNormFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& weight, double eps, at::ScalarType outDtype) {
    at::Tensor x = input.contiguous();
    RmsNormOutput out = rmsNormForward(x, weight, eps, outDtype);
    saveNorm(ctx, out, x.scalar_type(), weight);
    return out.y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto s = ctx->get_saved_variables();
    RmsNormGradients g = rmsNormBackward(grads[0], s[0], ctx->saved_data["fromOutput"].toBool(),
                                         static_cast<at::ScalarType>(ctx->saved_data["inputDtype"].toInt()), s[1], s[2]);
    return {g.x, g.weight, at::Tensor(), at::Tensor()};
  }
};

// (x + delta, rmsNorm(x + delta)): the residual add before a Llama norm fused into the norm's kernels.
struct ResidualRmsNormFunction : public torch::autograd::Function<ResidualRmsNormFunction> {
  static tensor_list forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& delta, const at::Tensor& weight, double eps,
                             at::ScalarType outDtype) {
    RmsNormOutput out = rmsNormForward(x, weight, eps, outDtype, delta);
    ctx->set_materialize_grads(false);  // the final norm's unused sum: no zero-filled gradient to read
    saveNorm(ctx, out, out.input.scalar_type(), weight);
    ctx->saved_data["deltaDtype"] = static_cast<int64_t>(delta.scalar_type());
    return {out.input, out.y};
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto s = ctx->get_saved_variables();
    auto deltaDtype = static_cast<at::ScalarType>(ctx->saved_data["deltaDtype"].toInt());
    RmsNormGradients g = rmsNormBackward(grads[1], s[0], ctx->saved_data["fromOutput"].toBool(),
                                         static_cast<at::ScalarType>(ctx->saved_data["inputDtype"].toInt()), s[1], s[2], grads[0],
                                         deltaDtype);
    return {g.x, g.xCopy, g.weight, at::Tensor(), at::Tensor()};
  }
};

// (silu(gate) · up) · downᵀ without saving the product (see swigluDown in the header).
struct SwigluDownFunction : public torch::autograd::Function<SwigluDownFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gateIn, const at::Tensor& upIn, const at::Tensor& downWeight) {
    at::Tensor gate = gateIn.contiguous(), up = upIn.contiguous();
    at::Tensor downC = computeCopy(downWeight, gate.scalar_type());  // the compute dtype, as autocast's Linear would cast it
    // MASKMIX_SWIGLU_SAVES=product keeps the product instead of writing it again (for measuring one against the other).
    static const bool keepProduct = envIs("MASKMIX_SWIGLU_SAVES", "product");
    const int64_t f = gate.size(-1);
    at::Tensor product = swigluProduct(gate, up);
    ctx->save_for_backward(keepProduct ? tensor_list{gate, up, downC, product} : tensor_list{gate, up, downC});
    ctx->saved_data["master"] = static_cast<int64_t>(downWeight.scalar_type());
    at::Tensor out = at::mm(product.view({-1, f}), downC.t());
    std::vector<int64_t> sizes = gate.sizes().vec();
    sizes.back() = downC.size(0);
    return out.view(sizes);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto s = ctx->get_saved_variables();
    const at::Tensor &gate = s[0], &up = s[1], &downC = s[2];
    auto master = static_cast<at::ScalarType>(ctx->saved_data["master"].toInt());
    const int64_t f = gate.size(-1);
    at::Tensor gy = grads[0].contiguous().to(downC.scalar_type()).view({-1, downC.size(0)});
    const bool kept = s.size() == 4;
    SwigluGradients g = swigluGradients(at::mm(gy, downC).view(gate.sizes()), gate, up, /*withProduct=*/!kept);
    if (kept) g.product = s[3];
    at::Tensor gDown = at::mm(gy.t(), g.product.view({-1, f})).to(master);
    return {g.gate, g.up, gDown};
  }
};

}  // namespace

at::Tensor rotaryRotate(const at::Tensor& xIn, const at::Tensor& cos, const at::Tensor& sin, bool inverse) {
  at::Tensor x = xIn.contiguous();
#ifdef MASKMIX_WITH_CUDA
  at::Tensor out = at::empty_like(x);
  if (useKernel({x}) && cos.is_cuda() && cos.scalar_type() == at::kFloat && cos.is_contiguous() && sin.is_contiguous() &&
      (x.size(3) / 2) % 8 == 0 && kernels::elementwiseTakes(x.numel(), x.data_ptr(), out.data_ptr(), cos.data_ptr())) {
    kernels::rotary(x.data_ptr(), out.data_ptr(), cos.data_ptr<float>(), sin.data_ptr<float>(), x.size(0), x.size(1), x.size(2), x.size(3),
                    inverse, toKernel(x.scalar_type()), stream());
    checkLaunch("rotary");
    return out;
  }
#endif
  int64_t half = x.size(-1) / 2;
  at::Tensor c = cos.unsqueeze(1).to(x.scalar_type());  // [t, 1, headDim] broadcasts over heads
  at::Tensor s = (inverse ? -sin : sin).unsqueeze(1).to(x.scalar_type());
  at::Tensor rotated = at::cat({x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)}, -1);
  return x * c + rotated * s;
}

namespace {

struct RotaryFunction : public torch::autograd::Function<RotaryFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
    ctx->save_for_backward({cos, sin});
    return rotaryRotate(x, cos, sin, false);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto s = ctx->get_saved_variables();
    return {rotaryRotate(grads[0], s[0], s[1], true), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps, at::ScalarType outDtype) {
  require(weight.dim() == 1 && weight.size(0) == x.size(-1), "rms norm weight must be [d]", "SHAPE_MISMATCH");
  return RmsNormFunction::apply(x, weight, eps, outDtype);
}

std::pair<at::Tensor, at::Tensor> residualRmsNorm(const at::Tensor& x, const at::Tensor& delta, const at::Tensor& weight, double eps,
                                                  at::ScalarType outDtype) {
  require(weight.dim() == 1 && weight.size(0) == x.size(-1), "rms norm weight must be [d]", "SHAPE_MISMATCH");
  require(delta.sizes() == x.sizes(), "the residual add needs a sublayer output of the residual stream's shape", "SHAPE_MISMATCH");
  tensor_list out = ResidualRmsNormFunction::apply(x, delta, weight, eps, outDtype);
  return {out[0], out[1]};
}

at::Tensor swigluDown(const at::Tensor& gate, const at::Tensor& up, const at::Tensor& downWeight) {
  require(gate.sizes() == up.sizes() && gate.scalar_type() == up.scalar_type(), "swiglu needs gate and up of one shape and dtype",
          "SHAPE_MISMATCH");
  require(downWeight.dim() == 2 && downWeight.size(1) == gate.size(-1), "the down projection's weight must be [d, f] for f-wide gate and up",
          "SHAPE_MISMATCH");
  return SwigluDownFunction::apply(gate, up, downWeight);
}

at::Tensor rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  require(x.dim() == 4 && x.size(-1) % 2 == 0 && cos.size(0) == x.size(1) && cos.size(1) == x.size(3),
          "rotary expects x [batch, t, heads, headDim] and tables [t, headDim]", "SHAPE_MISMATCH");
  return RotaryFunction::apply(x, cos, sin);
}

}  // namespace maskmix
