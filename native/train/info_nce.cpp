#include "train/info_nce.h"

#include "common/error.h"

namespace maskmix {

int64_t embeddingFromEnd(const std::string& token) {
  if (token == "last") return 1;
  require(token == "second-to-last", "the embedding token must be 'last' or 'second-to-last', got '" + token + "'", "CONFIG_INVALID");
  return 2;
}

void checkInfoNceOptions(const InfoNceOptions& options) {
  require(options.group >= 2, "the InfoNCE group needs at least 2 sequences (a query and its match)", "CONFIG_INVALID");
  require(options.temperature > 0, "the InfoNCE temperature must be positive", "CONFIG_INVALID");
  require(options.fromEnd >= 1, "the embedding token must be 1 (last) or more positions from the end", "CONFIG_INVALID");
}

at::Tensor sequenceEmbeddings(LanguageModel& model, const at::Tensor& tokens, int64_t fromEnd) {
  int64_t t = tokens.size(1);
  require(fromEnd >= 1 && fromEnd <= t,
          "sequences of " + std::to_string(t) + " tokens have no token " + std::to_string(fromEnd) + " from the end",
          "SHAPE_MISMATCH");
  LanguageModel::Hidden h = model.hiddenStates(tokens);
  return h.states.select(h.tokenMajor ? 0 : 1, t - fromEnd);
}

at::Tensor infoNceLoss(const at::Tensor& embeddings, int64_t group, double temperature) {
  require(embeddings.dim() == 2 && group >= 2 && embeddings.size(0) % group == 0,
          "InfoNCE needs [samples·group, d] embeddings with group ≥ 2", "SHAPE_MISMATCH");
  // Cosines at τ = 0.02 span ±50 in logits: bf16 would round them by up to 0.2, so the loss runs in float32.
  at::Tensor e = embeddings.scalar_type() == at::kDouble ? embeddings : embeddings.to(at::kFloat);
  e = e.reshape({-1, group, e.size(1)});
  // Normalising first makes the dot products cosines; the floor keeps a zero vector from dividing by zero.
  at::Tensor unit = e / e.norm(2, {-1}, /*keepdim=*/true).clamp_min(1e-12);
  at::Tensor query = unit.narrow(1, 0, 1);              // [s, 1, d]
  at::Tensor candidates = unit.narrow(1, 1, group - 1);  // [s, group-1, d]: the match first
  at::Tensor logits = (candidates * query).sum(-1) / temperature;
  return -at::log_softmax(logits, 1).select(1, 0).mean();
}

at::Tensor contrastiveLoss(LanguageModel& model, const at::Tensor& tokens, const InfoNceOptions& options) {
  checkInfoNceOptions(options);
  require(tokens.size(0) % options.group == 0,
          "an InfoNCE batch holds whole samples of " + std::to_string(options.group) + " sequences, got " +
              std::to_string(tokens.size(0)),
          "SHAPE_MISMATCH");
  return infoNceLoss(sequenceEmbeddings(model, tokens, options.fromEnd), options.group, options.temperature);
}

}  // namespace maskmix
