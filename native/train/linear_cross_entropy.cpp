#include "train/linear_cross_entropy.h"

#include <torch/autograd.h>

#include <algorithm>

#include "common/error.h"
#include "common/torch_compat.h"
#include "tensor/compute_copies.h"

#ifdef MASKMIX_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>

#include "kernels/kernels.h"
#endif

namespace maskmix {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Rows per chunk: about 16M logits (64 MB in float32) at a time.
int64_t defaultChunkRows(int64_t vocab) { return std::max<int64_t>(1, (int64_t{1} << 24) / vocab); }

struct LinearCrossEntropyFunction : public torch::autograd::Function<LinearCrossEntropyFunction> {
  // Returns [loss, count]; the count is not differentiable.
  static tensor_list forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                             int64_t ignoreIndex, int64_t chunkRows, c10::optional<at::ScalarType> computeDtype, bool wantGrad) {
    const int64_t n = hidden.size(0);
    const int64_t vocab = weight.size(0);
    at::ScalarType dtype = computeDtype.value_or(hidden.scalar_type());
    // Softmax statistics in float32, or float64 when the whole op runs in float64 (gradient checks).
    at::ScalarType accum = dtype == at::kDouble ? at::kDouble : at::kFloat;
    at::Tensor w = computeCopy(weight, dtype);
    at::Tensor valid = targets.ne(ignoreIndex);
    at::Tensor count = valid.sum();
    // 1/count as a device tensor (clamped so an all-pad batch gives 0 rather than NaN gradients).
    at::Tensor scale = count.clamp_min(1).to(accum).reciprocal();
    at::Tensor lossSum = at::zeros({}, hidden.options().dtype(accum));
    at::Tensor gradHidden, gradWeight;
    if (wantGrad) {
      gradHidden = at::empty_like(hidden);
      gradWeight = at::zeros(weight.sizes(), weight.options().dtype(accum));
    }
#ifdef MASKMIX_WITH_CUDA
    // On a GPU one kernel turns each chunk of logits into its loss and gradient in place (kernels/cross_entropy).
    bool kernel = hidden.is_cuda() && (dtype == at::kBFloat16 || dtype == at::kFloat) && vocab % 8 == 0;
#else
    bool kernel = false;
#endif
    for (int64_t start = 0; start < n; start += chunkRows) {
      int64_t rows = std::min(chunkRows, n - start);
      at::Tensor h = hidden.narrow(0, start, rows).to(dtype);
      at::Tensor t = targets.narrow(0, start, rows);
#ifdef MASKMIX_WITH_CUDA
      if (kernel) {
        at::Tensor logits = at::mm(h, w.t()).contiguous();
        at::Tensor tc = t.contiguous();
        kernels::crossEntropyRows(logits.data_ptr(), tc.data_ptr<int64_t>(), ignoreIndex, scale.data_ptr<float>(), lossSum.data_ptr<float>(),
                                  rows, vocab, wantGrad, dtype == at::kBFloat16 ? kernels::DType::BFloat16 : kernels::DType::Float32,
                                  at::cuda::getCurrentCUDAStream().stream());
        const char* error = kernels::lastError();
        if (error[0] != '\0') fail("INTERNAL", std::string("cross-entropy kernel failed: ") + error);
        if (wantGrad) {
          gradHidden.narrow(0, start, rows).copy_(at::mm(logits, w));
          // The chunk's weight gradient summed in float32 by the GEMM itself (libtorch 2.9+): rounding each
          // chunk's partial sum to bf16 before adding lost precision, and a separate add re-read the sum.
          compat::addMmInto(gradWeight, logits.t(), h);
        }
        continue;
      }
#endif
      at::Tensor v = valid.narrow(0, start, rows);
      at::Tensor logits = at::mm(h, w.t()).to(accum);
      at::Tensor lse = logits.logsumexp(1);
      // Ignored targets may hold any id; read a safe column for them and mask the result.
      at::Tensor safeTargets = t.masked_fill(v.logical_not(), 0);
      at::Tensor picked = logits.gather(1, safeTargets.unsqueeze(1)).squeeze(1);
      lossSum.add_(((lse - picked) * v).sum());
      if (wantGrad) {
        // d loss / d logits = (softmax − onehot) · valid / count, built in place over the logits buffer.
        at::Tensor grad = logits.sub_(lse.unsqueeze(1)).exp_();
        grad.scatter_add_(1, safeTargets.unsqueeze(1), at::full({rows, 1}, -1.0, grad.options()));
        grad.mul_((v.to(accum) * scale).unsqueeze(1));
        at::Tensor g = grad.to(dtype);
        gradHidden.narrow(0, start, rows).copy_(at::mm(g, w));
        gradWeight.add_(at::mm(g.t(), h));
      }
    }
    at::Tensor loss = (lossSum * scale).to(at::kFloat);
    if (accum == at::kDouble) loss = lossSum * scale;
    if (wantGrad) ctx->save_for_backward({gradHidden, gradWeight.to(weight.scalar_type())});
    ctx->mark_non_differentiable({count});
    return {loss, count};
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    at::Tensor g = grads[0];
    at::Tensor gradHidden = ctx->needs_input_grad(0) ? saved[0] * g.to(saved[0].scalar_type()) : at::Tensor();
    at::Tensor gradWeight = ctx->needs_input_grad(1) ? saved[1] * g.to(saved[1].scalar_type()) : at::Tensor();
    return {gradHidden, gradWeight, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

LinearCrossEntropy linearCrossEntropy(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                      int64_t ignoreIndex, int64_t chunkRows) {
  require(hidden.dim() == 2 && weight.dim() == 2 && hidden.size(1) == weight.size(1),
          "linear cross-entropy needs hidden [N, d] and weight [V, d]", "SHAPE_MISMATCH");
  require(targets.dim() == 1 && targets.size(0) == hidden.size(0), "targets must be [N] for hidden [N, d]", "SHAPE_MISMATCH");
  if (chunkRows <= 0) chunkRows = defaultChunkRows(weight.size(0));
  // Gradients are computed in the forward pass, so decide here whether anyone will want them (inside the
  // function's forward grad mode is always off).
  bool wantGrad = at::GradMode::is_enabled() && (hidden.requires_grad() || weight.requires_grad());
  auto out = LinearCrossEntropyFunction::apply(hidden, weight, targets, ignoreIndex, chunkRows, compat::autocastDtypeFor(hidden), wantGrad);
  return {out[0], out[1]};
}

}  // namespace maskmix
