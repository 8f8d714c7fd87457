// Input representation (SPEC §4, paper §3.1): how much of its input a model's hidden layer still holds. Starting
// from random embeddings, gradient descent moves them until the hidden state at one layer matches the one the
// true input produces; the Moore–Penrose pseudo-inverse of the embedding table then maps them back to tokens,
// and the normalised Hamming distance to the true tokens (pad positions ignored) scores the recovery.
#pragma once

#include <ATen/ATen.h>

#include "models/language_model.h"

namespace maskmix {

struct InversionOptions {
  int64_t layer = 0;         // 1 … nLayers: match the hidden state after this many blocks
  int64_t iterations = 500;  // N
  double learningRate = 0;   // η; decays linearly to η/10 at the last iteration
  uint64_t seed = 0;         // of the initial embeddings N(1/2, 1/20²)
};

struct InversionResult {
  at::Tensor tokens;  // recovered [batch, t] int64, CPU
  double hamming = 0;      // fraction of non-pad positions recovered wrong
  double initialLoss = 0;  // ||O_l(e_0) − O_l(e)||₁ per token before the first step
  double loss = 0;         // … after the last
};

// tokens: [batch, t] int64 on the model's device. Does not touch the model's parameters or their gradients.
InversionResult invertInputs(LanguageModel& model, const at::Tensor& tokens, const InversionOptions& options);

}  // namespace maskmix
