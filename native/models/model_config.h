// What a model is, as the TypeScript layer describes it (lib/model-config.ts validates and fills defaults; the
// binding re-checks the ranges that would otherwise crash libtorch).
#pragma once

#include <cstdint>
#include <string>

namespace maskmix {

struct ModelConfig {
  // "mixer" (masked mixer, SPEC §1), "llama" (the transformer baseline, SPEC §2), "repeat" (masked recurrent
  // mixer, SPEC §5), "linear" (generalized linear mixing, SPEC §5) or "autoencoder" (masked-mixer encoder and
  // decoder, SPEC §4; models/autoencoder.h)
  std::string kind = "mixer";
  int64_t vocabSize = 0;
  int64_t dModel = 0;
  int64_t nLayers = 0;
  int64_t context = 0;        // n: the mixing matrices are n×n, so this is the longest input the model takes
  int64_t ffMultiplier = 4;   // mixer, repeat: feed-forward width = ffMultiplier·dModel
  int64_t nHeads = 4;         // llama, repeat
  // repeat only
  std::string structure = "mixed";  // ops/repeat_mixing.h lists the structures
  int64_t kernelSize = 4;           // structure "kernel": weight rows per head
  // autoencoder only: "plain" (the embedding at every decoder position) or "memory" (then the shifted input)
  std::string variant = "plain";
  // autoencoder only: the blocks of encoder and decoder, "mixer" (masked mixer blocks) or "llama" (Llama decoder
  // layers, with nHeads, intermediateSize, ropeTheta and normEps as kind "llama" reads them)
  std::string blocks = "mixer";
  // linear only (generalized linear mixing, models/linear_mixer.h; also uses ffMultiplier and nHeads)
  std::string pattern = "first-order";  // ops/linear_pattern.h lists the patterns
  int64_t order = 4;                    // pattern "kth-order": past outputs read
  int64_t window = 8;                   // pattern "local": inputs read
  std::string coefficients = "static";  // "static" (position-indexed) or "gated" (softmax of x_i)
  bool projections = true;              // per-head in/out projections; false: one head over the whole width
  std::string linearSolve = "auto";     // training's solve of (I − B)·Y: "auto", "dense" or "chunked" (ops/linear_mixing.h)
  // llama only
  int64_t intermediateSize = 0;  // SwiGLU width; 0 → 4·dModel
  double ropeTheta = 10000.0;
  double normEps = 1e-5;
  int64_t padId = 0;          // targets equal to padId are ignored by the loss (the end-of-text token)
  uint64_t seed = 0;          // initial weights are a function of the config and this seed alone
  std::string device = "cpu";
  std::string dtype = "float32";  // parameter dtype: float32 (training), or float64 for exact numerical checks
  bool fused = true;              // blocks as fused sublayer functions (ops/prenorm_sublayers); false = plain modules
  // mixer variants (SPEC §1); the defaults are the flat masked mixer. JS names: nHeads, kernelSize,
  // mixingExpansion, mixingSoftmax, bidirectional (lib/model-config.ts).
  int64_t mixerHeads = 1;        // heads, each projecting d → d/H with its own mixing matrix, then out_proj d → d
  int64_t mixerKernel = 1;       // conv kernel over channels: k masked matrices per mixing
  double mixingExpansion = 0;    // > 0: expanded mixing W2·GELU(W1·x), W1 [round(e·n), n]; 0: flat
  bool mixingSoftmax = false;    // row-softmax over the unmasked entries of every mixing matrix
  bool bidirectional = false;    // a second, reverse stream (triu(W, 2)) of nLayers blocks, added at the end
  // Multi-token prediction (paper §5.2), any kind: k > 1 adds heads mtp_heads.j (j = 0 … k−2) predicting token
  // t+2+j from position t's final hidden state; the training loss is the sum over offsets 1 … k.
  int64_t predictTokens = 1;
};

}  // namespace maskmix
