#include "decode/decode_gemv_probe.h"

#include "common/error.h"
#include "decode/decode_matrix.h"

#ifdef MASKMIX_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "kernels/kernels.h"
#endif

namespace maskmix {

#ifdef MASKMIX_WITH_CUDA

at::Tensor probeDecodeGemv(const at::Tensor& weight, const at::Tensor& input, const std::string& weights, bool layerNorm) {
  require(weight.dim() == 2 && input.dim() == 2 && input.size(1) == weight.size(1), "weight [rows, K] and input [batch, K]", "SHAPE_MISMATCH");
  require(weight.is_cuda() && input.device() == weight.device() && weight.scalar_type() == at::kFloat && input.scalar_type() == at::kFloat,
          "weight and input must be float32 on one CUDA device");
  using kernels::DecodeWeights;
  DecodeWeights format;
  if (weights == "float32") {
    format = DecodeWeights::Float32;
  } else if (weights == "bfloat16") {
    format = DecodeWeights::BFloat16;
  } else if (weights == "tensor-cores") {
    format = DecodeWeights::BFloat16Fragments;
  } else if (weights == "int8") {
    format = DecodeWeights::Int8;
  } else {
    fail("INVALID_ARGUMENT", "weights must be float32, bfloat16, tensor-cores or int8, got '" + weights + "'");
  }
  const int64_t batch = input.size(0), rows = weight.size(0), K = weight.size(1);
  c10::cuda::CUDAGuard guard(weight.device());
  require(kernels::repeatDecodeGemvTakes(batch, K, format, layerNorm),
          "the decoding kernels do not take batch " + std::to_string(batch) + " at width " + std::to_string(K) + " with " + weights + " weights");

  kernels::RepeatDecodeGemv g;
  const DecodeMatrix matrix = decodeMatrix(weight, format);
  if (matrix.scales.defined()) g.weightScales = matrix.scales.data_ptr<float>();
  const at::Tensor x = input.contiguous();
  const at::Tensor out = at::zeros({batch, rows}, x.options());
  const at::Tensor normWeight = at::ones({K}, x.options()), normBias = at::zeros({K}, x.options());
  g.weight = matrix.values.data_ptr();
  g.inFeatures = K;
  g.outFeatures = rows;
  g.batch = batch;
  g.input = x.data_ptr<float>();
  g.inputStride = K;
  g.output = out.data_ptr<float>();
  g.outputStride = rows;
  g.normWeight = normWeight.data_ptr<float>();
  g.normBias = normBias.data_ptr<float>();
  const auto kind = layerNorm ? kernels::RepeatDecodeGemvKind::NormGelu : kernels::RepeatDecodeGemvKind::Residual;
  kernels::repeatDecodeGemv(kind, g, format, at::cuda::getCurrentCUDAStream().stream());
  const char* error = kernels::lastError();
  if (error[0] != '\0') fail("INTERNAL", std::string("decoding GEMV failed: ") + error);
  return out;  // matrix and scales go back to the allocator's cache for this stream: reused only after the kernel
}

#else

at::Tensor probeDecodeGemv(const at::Tensor&, const at::Tensor&, const std::string&, bool) {
  fail("CUDA_UNAVAILABLE", "the decoding GEMV probe needs a CUDA build of the addon");
}

#endif

}  // namespace maskmix
