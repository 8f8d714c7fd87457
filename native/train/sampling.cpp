#include "train/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"

namespace maskmix {

SampledToken sampleToken(const float* logits, int64_t vocab, const SamplingOptions& options) {
  require(options.temperature >= 0, "temperature must be ≥ 0");
  require(options.topK >= 0, "topK must be ≥ 0");
  require(options.topP > 0 && options.topP <= 1, "topP must be in (0, 1]");
  require(options.uniform >= 0 && options.uniform < 1, "uniform draw must be in [0, 1)");

  double maxLogit = *std::max_element(logits, logits + vocab);
  double logSumExp = 0;
  for (int64_t i = 0; i < vocab; ++i) logSumExp += std::exp(static_cast<double>(logits[i]) - maxLogit);
  logSumExp = maxLogit + std::log(logSumExp);
  auto logProbOf = [&](int64_t token) { return static_cast<double>(logits[token]) - logSumExp; };

  if (options.temperature == 0) {
    int64_t best = std::max_element(logits, logits + vocab) - logits;
    return {best, logProbOf(best)};
  }
  // Candidates in descending logit order (ties by id), cut by top-k.
  std::vector<int64_t> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  int64_t keep = options.topK > 0 ? std::min(options.topK, vocab) : vocab;
  auto byLogit = [&](int64_t a, int64_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::partial_sort(order.begin(), order.begin() + keep, order.end(), byLogit);
  order.resize(keep);

  std::vector<double> weights(keep);
  double scaledMax = logits[order[0]] / options.temperature;
  double total = 0;
  for (int64_t i = 0; i < keep; ++i) total += weights[i] = std::exp(logits[order[i]] / options.temperature - scaledMax);
  // Nucleus: the smallest prefix whose mass reaches topP.
  if (options.topP < 1) {
    double mass = 0;
    int64_t cut = keep;
    for (int64_t i = 0; i < keep; ++i) {
      mass += weights[i] / total;
      if (mass >= options.topP) {
        cut = i + 1;
        break;
      }
    }
    weights.resize(cut);
    order.resize(cut);
    total = std::accumulate(weights.begin(), weights.end(), 0.0);
  }
  double target = options.uniform * total, running = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    running += weights[i];
    if (target < running) return {order[i], logProbOf(order[i])};
  }
  return {order.back(), logProbOf(order.back())};
}

}  // namespace maskmix
