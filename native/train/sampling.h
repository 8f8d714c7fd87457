// Picks the next token from one row of logits: greedy, or temperature / top-k / top-p sampling driven by a
// uniform number the caller supplies (so the random stream, and its seed, live in one place: the caller).
#pragma once

#include <cstdint>
#include <vector>

namespace maskmix {

struct SamplingOptions {
  double temperature = 1.0;  // 0 → greedy
  int64_t topK = 0;          // 0 → all tokens
  double topP = 1.0;         // nucleus mass; 1 → all tokens
  double uniform = 0.5;      // a draw from U[0,1)
};

struct SampledToken {
  int64_t token = 0;
  double logProb = 0;  // log-probability of the token under the model (temperature 1, before top-k/top-p)
};

SampledToken sampleToken(const float* logits, int64_t vocab, const SamplingOptions& options);

}  // namespace maskmix
