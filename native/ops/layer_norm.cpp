#include "ops/layer_norm.h"

#include "common/env_setting.h"
#include "common/error.h"
#include "ops/block_partials.h"

#ifdef MASKMIX_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>

#include "kernels/kernels.h"
#endif

namespace maskmix {

namespace {

#ifdef MASKMIX_WITH_CUDA
bool kernelTakes(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, at::ScalarType outDtype) {
  return x.is_cuda() && x.scalar_type() == at::kFloat && x.is_contiguous() && w.scalar_type() == at::kFloat &&
         b.scalar_type() == at::kFloat && w.is_contiguous() && b.is_contiguous() && kernels::rowKernelsTake(x.size(-1)) &&
         (outDtype == at::kFloat || outDtype == at::kBFloat16);
}
kernels::DType toKernel(at::ScalarType t) { return t == at::kBFloat16 ? kernels::DType::BFloat16 : kernels::DType::Float32; }
void checkLaunch(const char* what) {
  const char* error = kernels::lastError();
  if (error[0] != '\0') fail("INTERNAL", std::string(what) + " kernel failed: " + error);
}
#endif

}  // namespace

LayerNormOutput layerNormForward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, double eps, at::ScalarType outDtype,
                                 const at::Tensor& deltaIn, int64_t extraRows) {
  int64_t d = x.size(-1);
  at::Tensor delta = deltaIn.defined() ? deltaIn.contiguous() : at::Tensor();
#ifdef MASKMIX_WITH_CUDA
  if (kernelTakes(x, w, b, outDtype) &&
      (!delta.defined() || (delta.is_cuda() && delta.sizes() == x.sizes() &&
                            (delta.scalar_type() == at::kFloat || delta.scalar_type() == at::kBFloat16)))) {
    int64_t rows = x.numel() / d;
    at::Tensor padded, y;
    if (extraRows > 0) {
      std::vector<int64_t> sizes = x.sizes().vec();
      sizes[0] += extraRows;
      padded = at::empty(sizes, x.options().dtype(outDtype));
      y = padded.narrow(0, extraRows, x.size(0));  // trailing rows of a contiguous buffer: contiguous
    } else {
      y = at::empty(x.sizes(), x.options().dtype(outDtype));
    }
    at::Tensor mean = at::empty({rows}, x.options()), rstd = at::empty({rows}, x.options());
    at::Tensor sum = delta.defined() ? at::empty_like(x) : x;
    kernels::layerNormForward(x.data_ptr<float>(), delta.defined() ? delta.data_ptr() : nullptr,
                              toKernel(delta.defined() ? delta.scalar_type() : at::kFloat), delta.defined() ? sum.data_ptr<float>() : nullptr,
                              w.data_ptr<float>(), b.data_ptr<float>(), y.data_ptr(), mean.data_ptr<float>(), rstd.data_ptr<float>(), rows, d,
                              static_cast<float>(eps), toKernel(outDtype), at::cuda::getCurrentCUDAStream().stream());
    checkLaunch("layer norm forward");
    return {y, NormStats{mean, rstd, true}, sum, padded};
  }
#endif
  at::Tensor input = delta.defined() ? x + delta : x;
  auto [y, mean, rstd] = at::native_layer_norm(input, {d}, w, b, eps);
  if (extraRows == 0) return {y.to(outDtype), NormStats{mean, rstd, false}, input};
  // The padded layout off the kernel path too (one copy): the CPU's float64 tests check the mixing's bias row.
  std::vector<int64_t> sizes = x.sizes().vec();
  sizes[0] += extraRows;
  at::Tensor padded = at::empty(sizes, x.options().dtype(outDtype));
  at::Tensor trailing = padded.narrow(0, extraRows, x.size(0));
  trailing.copy_(y);
  return {trailing, NormStats{mean, rstd, false}, input, padded};
}

LayerNormSaved layerNormSaved(const LayerNormOutput& forward) {
  static const bool keepInput = envIs("MASKMIX_LAYERNORM_SAVES", "input");  // read once, not on every forward
  if (forward.stats.kernel && !keepInput)
    return {forward.y, NormStats{at::Tensor(), forward.stats.rstd, true}, true};
  return {forward.input, forward.stats, false};
}

at::Tensor layerNormNormed(const LayerNormSaved& saved, const at::Tensor& w, const at::Tensor& b, double eps, at::ScalarType outDtype) {
  if (saved.output) return saved.tensor;
  const at::Tensor& x = saved.tensor;
  const NormStats& stats = saved.stats;
#ifdef MASKMIX_WITH_CUDA
  if (stats.kernel) {
    int64_t d = x.size(-1), rows = x.numel() / d;
    at::Tensor y = at::empty(x.sizes(), x.options().dtype(outDtype));
    kernels::layerNormForward(x.data_ptr<float>(), nullptr, kernels::DType::Float32, nullptr, w.data_ptr<float>(), b.data_ptr<float>(),
                              y.data_ptr(), nullptr, nullptr, rows, d, static_cast<float>(eps), toKernel(outDtype),
                              at::cuda::getCurrentCUDAStream().stream());
    checkLaunch("layer norm recompute");
    return y;
  }
#endif
  return ((x - stats.mean) * stats.rstd * w + b).to(outDtype);
}

LayerNormGradients layerNormBackward(const at::Tensor& gradY, const LayerNormSaved& saved, const at::Tensor& w, const at::Tensor& b,
                                     const at::Tensor& residualGrad, std::optional<at::ScalarType> copyDtype) {
  const at::Tensor& x = saved.tensor;  // the output y when saved.output
  const NormStats& stats = saved.stats;
  int64_t d = x.size(-1);
#ifdef MASKMIX_WITH_CUDA
  if (stats.kernel) {  // kernel statistics ([rows]) only fit the kernel backward
    require(!copyDtype || *copyDtype == at::kFloat || *copyDtype == at::kBFloat16,
            "layer norm backward: the deferred output's gradient must be float32 or bfloat16", "INTERNAL");
    int64_t rows = x.numel() / d;
    // From the output, the kernel reads y in the gradient's dtype (both are the compute dtype of the sublayer).
    at::Tensor gy = saved.output ? gradY.to(x.scalar_type()).contiguous() : gradY.contiguous();
    at::Tensor residual = residualGrad.defined() ? residualGrad.contiguous().to(at::kFloat) : at::Tensor();
    at::TensorOptions master = x.options().dtype(at::kFloat);
    at::Tensor gx = at::empty(x.sizes(), master);
    // A tensor of its own even in float32: the autograd engine may accumulate into either gradient in place.
    at::Tensor copy = copyDtype ? at::empty(x.sizes(), x.options().dtype(*copyDtype)) : at::Tensor();
    int64_t blocks = kernels::normBackwardBlocks(rows);
    at::Tensor partialW = at::empty({blocks, d}, master), partialB = at::empty({blocks, d}, master);
    kernels::layerNormBackward(gy.data_ptr(), toKernel(gy.scalar_type()), x.data_ptr(), saved.output,
                               saved.output ? nullptr : stats.mean.data_ptr<float>(), stats.rstd.data_ptr<float>(), w.data_ptr<float>(),
                               b.data_ptr<float>(), residual.defined() ? residual.data_ptr<float>() : nullptr, gx.data_ptr<float>(),
                               copy.defined() ? copy.data_ptr() : nullptr, toKernel(copyDtype.value_or(at::kFloat)), partialW.data_ptr<float>(),
                               partialB.data_ptr<float>(), rows, d, at::cuda::getCurrentCUDAStream().stream());
    checkLaunch("layer norm backward");
    return {gx, copy, sumBlockPartials(partialW, at::kFloat), sumBlockPartials(partialB, at::kFloat)};
  }
#endif
  auto [gx, gw, gb] =
      at::native_layer_norm_backward(gradY.to(x.scalar_type()), x, {d}, stats.mean, stats.rstd, w, b, {true, true, true});
  if (residualGrad.defined()) gx.add_(residualGrad.view(gx.sizes()));
  at::Tensor copy = copyDtype ? gx.to(*copyDtype, /*non_blocking=*/false, /*copy=*/true) : at::Tensor();
  return {gx, copy, gw, gb};
}

}  // namespace maskmix
