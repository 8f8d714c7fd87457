#include "analysis/inversion.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>
#include <torch/utils.h>

#include "common/error.h"

namespace maskmix {

namespace {
// The paper's ||·||₁ per token (summed over features, averaged over positions and sequences): a constant factor
// from the plain norm, so that one learning rate serves every length and batch.
at::Tensor l1(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().sum() / static_cast<double>(a.size(0) * a.size(1)); }
}  // namespace

InversionResult invertInputs(LanguageModel& model, const at::Tensor& tokens, const InversionOptions& options) {
  const ModelConfig& config = model.config();
  require(options.layer >= 1 && options.layer <= config.nLayers,
          "inversion layer must be in 1 … " + std::to_string(config.nLayers) + ", got " + std::to_string(options.layer), "INVALID_ARGUMENT");
  require(options.iterations >= 1, "inversion needs at least one iteration", "INVALID_ARGUMENT");
  require(options.learningRate > 0, "inversion learning rate must be positive", "INVALID_ARGUMENT");
  torch::AutoGradMode gradients(true);
  model.eval();
  at::Tensor table = model.inputEmbedding().detach();  // [V, d]
  at::Tensor target;
  {
    torch::NoGradGuard noGrad;
    target = model.hiddenFromEmbeddings(at::embedding(table, tokens), options.layer).detach();
  }
  // Drawn on the CPU from a generator of our own: the same seed gives the same start on any device.
  at::Generator generator = at::detail::createCPUGenerator(options.seed);
  at::Tensor start = at::normal(0.5, 1.0 / 20.0, {tokens.size(0), tokens.size(1), table.size(1)}, generator, at::TensorOptions().dtype(at::kDouble));
  at::Tensor embeddings = start.to(table.device(), table.scalar_type()).requires_grad_(true);

  InversionResult result;
  int64_t n = options.iterations;
  for (int64_t i = 0; i < n; ++i) {
    at::Tensor loss = l1(model.hiddenFromEmbeddings(embeddings, options.layer), target);
    if (i == 0) result.initialLoss = loss.item<double>();
    // Gradient with respect to the embeddings only: parameters' .grad stay untouched.
    at::Tensor grad = torch::autograd::grad({loss}, {embeddings})[0];
    double rate = options.learningRate * (1.0 - 0.9 * static_cast<double>(i) / static_cast<double>(std::max<int64_t>(n - 1, 1)));
    torch::NoGradGuard noGrad;
    embeddings.sub_(grad, rate);
  }
  torch::NoGradGuard noGrad;
  result.loss = l1(model.hiddenFromEmbeddings(embeddings, options.layer), target).item<double>();
  // e = W·a with W = tableᵀ [d, V]; a = W⁺·e, read as scores over the vocabulary.
  at::Tensor pseudoInverse = at::linalg_pinv(table.to(at::kDouble).t());  // [V, d]
  at::Tensor scores = at::matmul(embeddings.detach().to(at::kDouble), pseudoInverse.t());
  result.tokens = scores.argmax(-1).to(at::kCPU);
  at::Tensor truth = tokens.to(at::kCPU);
  at::Tensor counted = truth.ne(config.padId);
  int64_t total = counted.sum().item<int64_t>();
  int64_t wrong = result.tokens.ne(truth).logical_and(counted).sum().item<int64_t>();
  result.hamming = total > 0 ? static_cast<double>(wrong) / static_cast<double>(total) : 0.0;
  return result;
}

}  // namespace maskmix
