#include "decode/fused_repeat_step.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/env_setting.h"
#include "common/error.h"
#include "decode/decode_matrix.h"
#include "models/repeat_mixer.h"

#ifdef MASKMIX_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <torch/nn/modules/activation.h>

#include "kernels/kernels.h"
#endif

namespace maskmix {

#ifdef MASKMIX_WITH_CUDA

namespace {

using kernels::RepeatDecodeGemv;
using kernels::RepeatDecodeGemvKind;

// The kernels read float32 tensors as dense rows with 16-byte vector loads.
bool floatOn(const at::Tensor& t, const at::Device& device) {
  return t.defined() && t.scalar_type() == at::kFloat && t.is_contiguous() && t.device() == device &&
         kernels::aligned16(t.data_ptr());
}

struct Launch {
  RepeatDecodeGemvKind kind;
  RepeatDecodeGemv gemv;
};

class FusedRepeatStepImpl : public FusedRepeatStep {
 public:
  void launch() override {
    cudaStream_t stream = at::cuda::getCurrentCUDAStream().stream();
    if (phases_.defined()) {
      kernels::repeatDecodePersistent(reinterpret_cast<const kernels::RepeatDecodePhase*>(phases_.data_ptr()), static_cast<int>(launches_.size()),
                                      persistentGrid_, persistentShared_, weights_, stream);
    } else {
      for (const Launch& l : launches_) kernels::repeatDecodeGemv(l.kind, l.gemv, weights_, stream);
    }
    const char* error = kernels::lastError();
    if (error[0] != '\0') fail("INTERNAL", std::string("fused decoding kernels failed: ") + error);
  }

  unsigned long long* argmaxKeys() { return reinterpret_cast<unsigned long long*>(argmax_.data_ptr<int64_t>()); }

  ~FusedRepeatStepImpl() override {
    if (timeline_.defined()) writeTimeline();
  }

  // Lets a GEMV start its successor once its own weight loads are issued instead of after its wait, so that the
  // successor's weight loads overlap two kernels instead of one: at batch 1, for a successor with more weights than
  // the GEMV (the mixing's output projection starting the 4·d×d up-projection), and only where one block each of the
  // GEMV, its predecessor (still running then) and the successor fit on a multiprocessor together. On an H100
  // (d1024 L8, two runs each): batch 1 125.9 → 121.5 µs a token; the same at batch 2 (the three blocks just fit)
  // 173.7 → 175.3, and at batch 4 the d×d GEMVs starting each other early 280.8 → 324.1, so neither. Never from the
  // step's first GEMV: the kernels after it read the position before their wait, and the previous step's head moves
  // it. MASKMIX_DECODE_EARLY_LAUNCH=0 turns it off (kept for measuring).
  void launchEarly(int64_t batch) {
    if (batch != 1 || envSaysOff("MASKMIX_DECODE_EARLY_LAUNCH")) return;
    auto weights = [&](size_t i) { return launches_[i].gemv.inFeatures * launches_[i].gemv.outFeatures; };
    std::vector<kernels::BlockFootprint> footprint;  // one query per launch (a kernel attribute lookup each)
    for (const Launch& l : launches_) footprint.push_back(kernels::repeatDecodeGemvFootprint(l.kind, l.gemv, weights_));
    for (size_t i = 1; i + 1 < launches_.size(); ++i) {
      if (weights(i + 1) <= weights(i)) continue;
      const kernels::BlockFootprint blocks[3] = {footprint[i - 1], footprint[i], footprint[i + 1]};
      launches_[i].gemv.launchNextOnEntry = kernels::blocksFitOnOneMultiprocessor(blocks, 3);
    }
  }

  // MASKMIX_DECODE_TIMELINE=file: every GEMV block notes when it entered, when its wait returned, when its input was
  // staged, when its products were summed and when it ended (kernels.h), for the last kTimelineSlots steps; written out
  // (one line per step and launch) when the step goes.
  static constexpr int64_t kTimelineSlots = 64;
  static constexpr int kMarks = kernels::kTimelineMarks;
  void recordTimeline(const at::Device& device, const at::Tensor& position, std::string file) {
    timelineLaunchBlocks_.clear();
    for (const Launch& l : launches_) timelineLaunchBlocks_.push_back(kernels::repeatDecodeGemvBlocks(l.kind, l.gemv, weights_));
    const int64_t blocks = *std::max_element(timelineLaunchBlocks_.begin(), timelineLaunchBlocks_.end());
    const int64_t perSlot = static_cast<int64_t>(launches_.size()) * blocks;
    timeline_ = at::zeros({kTimelineSlots, perSlot * kMarks}, at::TensorOptions().dtype(at::kLong).device(device));
    auto* base = reinterpret_cast<unsigned long long*>(timeline_.data_ptr<int64_t>());
    for (size_t i = 0; i < launches_.size(); ++i) {
      RepeatDecodeGemv& g = launches_[i].gemv;
      g.timeline = base + static_cast<int64_t>(i) * blocks * kMarks;
      g.timelinePosition = position.data_ptr<int64_t>();
      g.timelineStride = perSlot;
      g.timelineSlots = kTimelineSlots;
    }
    timelineFile_ = std::move(file);
  }

  // Per recorded step and launch (ns): the earliest entry, the earliest and latest wait return and the latest exit
  // of its blocks, after the step's first block entered; then, over its blocks, the mean and the longest time from
  // the wait to the staged input, from there to the summed products, and from there to the exit.
  void writeTimeline() noexcept {
    try {
      at::Tensor t = timeline_.cpu();
      const int64_t* v = t.data_ptr<int64_t>();
      std::FILE* out = std::fopen(timelineFile_.c_str(), "w");
      if (out == nullptr) return;
      std::fprintf(out, "slot launch kind blocks entered released_first released_last exited_last staging_mean staging_max "
                        "products_mean products_max epilogue_mean epilogue_max\n");
      const int64_t n = static_cast<int64_t>(launches_.size());
      const int64_t stride = *std::max_element(timelineLaunchBlocks_.begin(), timelineLaunchBlocks_.end());  // as recordTimeline laid it out
      for (int64_t slot = 0; slot < kTimelineSlots; ++slot) {
        const int64_t* row = v + slot * n * stride * kMarks;
        if (row[0] == 0) continue;  // a slot no step reached
        const int64_t origin = row[0];
        for (int64_t i = 0; i < n; ++i) {
          const int64_t blocks = timelineLaunchBlocks_[i];
          int64_t entered = INT64_MAX, releasedFirst = INT64_MAX, releasedLast = INT64_MIN, exitedLast = INT64_MIN;
          double mean[3] = {0, 0, 0};
          int64_t longest[3] = {0, 0, 0};
          for (int64_t b = 0; b < blocks; ++b) {
            const int64_t* m = row + (i * stride + b) * kMarks;
            entered = std::min(entered, m[0]);
            releasedFirst = std::min(releasedFirst, m[1]);
            releasedLast = std::max(releasedLast, m[1]);
            exitedLast = std::max(exitedLast, m[4]);
            for (int k = 0; k < 3; ++k) {
              mean[k] += static_cast<double>(m[k + 2] - m[k + 1]) / static_cast<double>(blocks);
              longest[k] = std::max(longest[k], m[k + 2] - m[k + 1]);
            }
          }
          std::fprintf(out, "%lld %lld %d %lld %lld %lld %lld %lld %.0f %lld %.0f %lld %.0f %lld\n", static_cast<long long>(slot),
                       static_cast<long long>(i), static_cast<int>(launches_[i].kind), static_cast<long long>(blocks),
                       static_cast<long long>(entered - origin), static_cast<long long>(releasedFirst - origin),
                       static_cast<long long>(releasedLast - origin), static_cast<long long>(exitedLast - origin), mean[0],
                       static_cast<long long>(longest[0]), mean[1], static_cast<long long>(longest[1]), mean[2], static_cast<long long>(longest[2]));
        }
      }
      std::fclose(out);
    } catch (...) {
      // a profiling aid: a failure to write it must not take the decoder's teardown with it
    }
  }

  bool tensorCores() const override { return weights_ == kernels::DecodeWeights::BFloat16Fragments; }

  kernels::DecodeWeights weights_ = kernels::DecodeWeights::Float32;
  // scratch: residual stream, mixing output, feed-forward hidden; the head's argmax keys and finished-block count;
  // the flag hand-over's counters (one per GEMV but the head, then the step count)
  at::Tensor x_, mixed_, hidden_, argmax_, blocksDone_, handover_;
  // Split output (splitOutputRequested): copies 1…2L of the residual stream [2L, batch, d]; the step's kernel k (2l
  // the mixing of layer l, 2l + 1 its feed-forward) reads copy k (kernel 0 the embedding) and adds into copy k + 1,
  // which is zero then. Kernel k ≥ 2 clears copy k − 1 after its wait (kernel k − 1, its last reader, has ended);
  // kernel 0 clears copy 2L and the head copy 2L − 1, which the next step adds into again.
  at::Tensor residualCopies_;
  std::vector<at::Tensor> keepAlive_;        // bf16 or int8 weight copies (and int8 row scales) the launches point into
  std::vector<Launch> launches_;
  // The persistent kernel (MASKMIX_DECODE_PERSISTENT=1): the launches as planned phases, on the device.
  at::Tensor phases_;
  unsigned int persistentGrid_ = 0;
  size_t persistentShared_ = 0;
  // MASKMIX_DECODE_TIMELINE: [slots, launches·blocks·kMarks] %globaltimer readings, written to timelineFile_ at the end;
  // each launch's blocks (timelineLaunchBlocks_) laid out at a stride of the most any launch has.
  at::Tensor timeline_;
  std::vector<int64_t> timelineLaunchBlocks_;
  std::string timelineFile_;

  // Links each GEMV after the step's first to its predecessor's finished-block counter (kernels.h: flag hand-over).
  void linkByFlags(const at::Device& device) {
    const int64_t n = static_cast<int64_t>(launches_.size());
    handover_ = at::zeros({n}, at::TensorOptions().dtype(at::kInt).device(device));
    auto* counters = reinterpret_cast<unsigned int*>(handover_.data_ptr<int32_t>());
    for (int64_t i = 0; i < n; ++i) {
      RepeatDecodeGemv& g = launches_[i].gemv;
      g.steps = counters + n - 1;
      if (i + 1 < n) g.finished = counters + i;  // the head (last) is waited for by its grid's end
      if (i > 0) {
        g.previousFinished = counters + i - 1;
        g.previousBlocks = kernels::repeatDecodeGemvBlocks(launches_[i - 1].kind, launches_[i - 1].gemv, weights_);
      }
    }
  }

  // Plans the persistent kernel and copies its phases to the device (before capture: a plain copy); false when the
  // GPU cannot run it, which leaves the kernel-per-GEMV launches.
  bool planPersistent(const at::Device& device) {
    std::vector<kernels::RepeatDecodePhase> phases(launches_.size());
    for (size_t i = 0; i < launches_.size(); ++i) {
      phases[i].kind = launches_[i].kind;
      phases[i].gemv = launches_[i].gemv;
    }
    if (!kernels::planRepeatDecodePersistent(phases.data(), static_cast<int>(phases.size()), weights_, persistentGrid_, persistentShared_))
      return false;
    const int64_t bytes = static_cast<int64_t>(phases.size() * sizeof(kernels::RepeatDecodePhase));
    phases_ = at::from_blob(phases.data(), {bytes}, at::TensorOptions().dtype(at::kByte)).to(device);
    return true;
  }
};

// Whether MASKMIX_DECODE_HANDOVER=flags asks for each GEMV kernel after a step's first to start when its
// predecessor's blocks have counted themselves finished, rather than when that grid ends (the default). Correct but
// slower on an H100: 199 µs a token against 177 (d1024 L8, batch 1; README "Decoding"), so left opt-in.
bool flagHandoverRequested() {
  return envIs("MASKMIX_DECODE_HANDOVER", "flags");
}

// Whether MASKMIX_DECODE_PERSISTENT asks for the one-kernel step. Off by default: on an H200 it took 398 µs a token
// against the overlapped launches' 160 (d1024 L8, batch 1; README "Decoding").
bool persistentRequested() {
  return envIs("MASKMIX_DECODE_PERSISTENT", "1");
}

// Whether MASKMIX_DECODE_TENSOR_CORES=1 asks for the bf16 products to run on tensor cores (kernels.h
// BFloat16Fragments: the input rounded to bf16 as autocast does, 128 weights a warp instruction). Off by default:
// on an H100 it took 133.5 µs a token against 123.0 (d1024 L8, batch 1; README "Tensor-core products").
bool tensorCoresRequested() {
  return envIs("MASKMIX_DECODE_TENSOR_CORES", "1");
}

// Whether MASKMIX_DECODE_SPLIT_OUTPUT=1 asks for two kernels a layer instead of four (kernels.h
// RepeatDecodeGemv::splitWeight): the mixing's output projection and the down-projection done by the kernels before
// them, each block adding its partial products into the residual stream with atomics. For bf16 and float32 weights,
// with the overlapped launches (not the persistent kernel or the flag hand-over). The float atomics add in a varying
// order, so such a step is not bit-reproducible from run to run. Off by default: on an H100 it took 150.3 µs a token
// against 123.5 (d1024 L8, batch 1), 225.5 against 172.6 at batch 2 (README "Split output projections").
bool splitOutputRequested() {
  return envIs("MASKMIX_DECODE_SPLIT_OUTPUT", "1") && !persistentRequested() && !flagHandoverRequested();
}

// The step of tryBuild, with or without split outputs; null where the kernels cannot run this model that way.
std::unique_ptr<FusedRepeatStepImpl> buildStep(LanguageModel& model, MixingStates& states, int64_t batch, kernels::DecodeWeights weights,
                                               const at::Tensor& tokens, const at::Tensor& position, const at::Tensor& history, bool split) {
  auto* lm = dynamic_cast<RepeatMixerLM*>(&model);
  if (lm == nullptr || states.size() != lm->blocks()->size()) return nullptr;
  const ModelConfig& c = model.config();
  const at::Device device = model.outputWeight().device();
  const int64_t d = c.dModel, f = c.ffMultiplier * c.dModel, H = c.nHeads;
  if (!device.is_cuda() || !kernels::repeatDecodeGemvTakes(batch, d, weights, true) || !kernels::repeatDecodeGemvTakes(batch, f, weights, false))
    return nullptr;
  // Tensor-core products where asked and every matrix's rows are whole 256-value tiles (else the bf16 kernels).
  const auto fragments = kernels::DecodeWeights::BFloat16Fragments;
  if (weights == kernels::DecodeWeights::BFloat16 && tensorCoresRequested() && kernels::repeatDecodeGemvTakes(batch, d, fragments, true) &&
      kernels::repeatDecodeGemvTakes(batch, f, fragments, false))
    weights = fragments;

  if (split && weights != kernels::DecodeWeights::BFloat16 && weights != kernels::DecodeWeights::Float32) return nullptr;
  auto step = std::make_unique<FusedRepeatStepImpl>();
  const int64_t layers = static_cast<int64_t>(lm->blocks()->size());
  step->weights_ = weights;
  const at::Tensor& embedding = lm->embedding()->weight;
  if (!floatOn(embedding, device)) return nullptr;
  auto floats = at::TensorOptions().dtype(at::kFloat).device(device);
  step->x_ = at::zeros({batch, d}, floats);
  step->mixed_ = at::zeros({batch, d}, floats);
  step->hidden_ = at::zeros({batch, f}, floats);
  step->argmax_ = at::zeros({batch}, floats.dtype(at::kLong));
  step->blocksDone_ = at::zeros({1}, floats.dtype(at::kInt));
  if (split) step->residualCopies_ = at::zeros({2 * layers, batch, d}, floats);
  auto residualCopy = [&](int64_t k) { return step->residualCopies_[k - 1]; };  // copy k of 1…2L, [batch, d]

  // A matrix as the kernels read it (decode/decode_matrix.h): the float32 parameter, or copies kept alive here.
  auto setMatrix = [&](RepeatDecodeGemv& g, const at::Tensor& w) {
    const DecodeMatrix matrix = decodeMatrix(w, weights);
    if (matrix.values.data_ptr() != w.data_ptr()) step->keepAlive_.push_back(matrix.values);
    g.weight = matrix.values.data_ptr();
    if (matrix.scales.defined()) {
      step->keepAlive_.push_back(matrix.scales);
      g.weightScales = matrix.scales.data_ptr<float>();
    }
  };
  // Read once per capture, for the separate launches and the persistent kernel's phases alike.
  const bool weightsEvictFirst = !envSaysOff("MASKMIX_DECODE_WEIGHTS_EVICT_FIRST");
  const bool normParametersFirst = !envSaysOff("MASKMIX_DECODE_NORM_FIRST");
  auto gemv = [&](const torch::nn::LinearImpl& linear, const at::Tensor& input, const at::Tensor& output) {
    RepeatDecodeGemv g;
    setMatrix(g, linear.weight);
    g.weightsEvictFirst = weightsEvictFirst;
    g.normParametersFirst = normParametersFirst;
    g.bias = linear.bias.defined() ? linear.bias.data_ptr<float>() : nullptr;
    g.inFeatures = linear.weight.size(1);
    g.outFeatures = linear.weight.size(0);
    g.batch = batch;
    g.input = input.data_ptr<float>();
    g.inputStride = input.size(1);
    g.output = output.data_ptr<float>();
    g.outputStride = output.size(1);
    return g;
  };
  // Each block adds its own partial products with one-float atomics: on an H100 (d1024 L8 batch 1) 150.3 µs a
  // token against 157.0 with 16-byte atomics (sm_90, MASKMIX_DECODE_SPLIT_ATOMICS=vector). Clusters of 4 or 8
  // blocks summing their products in distributed shared memory before the atomics took 167.1 and 164.1 against
  // 150.5 (session 25, docs/benchmarks/h100-2026-12-07b): dropped.
  const bool sm90 = at::cuda::getCurrentDeviceProperties()->major >= 9;
  const bool splitVector = sm90 && envIs("MASKMIX_DECODE_SPLIT_ATOMICS", "vector");
  // Makes g a split-output GEMV whose second matrix is `second`, adding into `into` (false: no kernel for it).
  auto splitInto = [&](RepeatDecodeGemv& g, RepeatDecodeGemvKind kind, const torch::nn::LinearImpl& second, const at::Tensor& into) {
    g.splitOut = second.weight.size(0);
    const int64_t rows = kernels::repeatDecodeSplitRows(kind, g, weights);
    if (rows == 0 || second.weight.size(1) != g.outFeatures || g.splitOut != g.inFeatures || !floatOn(second.weight, device)) return false;
    g.splitVector = splitVector && g.splitOut % 4 == 0;
    step->keepAlive_.push_back(splitColumns(second.weight, rows, weights, g.splitVector));
    g.splitWeight = step->keepAlive_.back().data_ptr();
    g.splitBias = second.bias.defined() ? second.bias.data_ptr<float>() : nullptr;
    g.splitOutput = into.data_ptr<float>();
    g.clearFloats = batch * d;
    return true;
  };
  auto withNorm = [](RepeatDecodeGemv g, const torch::nn::LayerNorm& norm) {
    g.normWeight = norm->weight.data_ptr<float>();
    g.normBias = norm->bias.data_ptr<float>();
    g.normEps = static_cast<float>(norm->options.eps());
    return g;
  };

  size_t layer = 0;
  for (const auto& module : *lm->blocks()) {
    auto* block = module->as<RepeatBlock>();
    RepeatWeights w = block->mix->weights();
    int64_t columnHeads = 0;
    switch (w.structure) {
      case RepeatStructure::Column: columnHeads = H; break;
      case RepeatStructure::Row: columnHeads = 0; break;
      case RepeatStructure::Mixed: columnHeads = H - H / 2; break;
      default: return nullptr;  // the other structures keep the generic graphed step
    }
    at::Tensor sums = states[layer++]->runningSums();
    auto up = (*block->patch_ff)[0]->as<torch::nn::Linear>();
    auto act = (*block->patch_ff)[1]->as<torch::nn::GELU>();
    auto down = (*block->patch_ff)[2]->as<torch::nn::Linear>();
    if (up == nullptr || act == nullptr || down == nullptr || act->options.approximate() != "none") return nullptr;
    if (!floatOn(sums, device) || sums.numel() != batch * d) return nullptr;
    for (const at::Tensor& t : {w.weight, w.bias, w.decay, block->mix->in_proj->weight, block->mix->in_proj->bias, block->mix->out_proj->weight,
                                block->mix->out_proj->bias, up->weight, up->bias, down->weight, down->bias, block->seq_layernorm->weight,
                                block->seq_layernorm->bias, block->patch_layernorm->weight, block->patch_layernorm->bias})
      if (!floatOn(t, device)) return nullptr;

    const int64_t first = 2 * static_cast<int64_t>(layer - 1);  // the step's kernel index of this layer's mixing (split output)
    const at::Tensor mixInput = split && first > 0 ? residualCopy(first) : step->x_;
    RepeatDecodeGemv mix = withNorm(gemv(*block->mix->in_proj, mixInput, step->mixed_), block->seq_layernorm);
    mix.heads = H;
    mix.columnHeads = columnHeads;
    mix.context = c.context;
    mix.positionWeight = w.weight.data_ptr<float>();
    mix.positionBias = w.bias.data_ptr<float>();
    mix.decay = w.decay.data_ptr<float>();
    mix.decayMin = static_cast<float>(kDecayMin);
    mix.decayMax = static_cast<float>(kDecayMax);
    mix.decayConstant = static_cast<float>(w.decayConstant);
    mix.sums = sums.data_ptr<float>();
    mix.position = position.data_ptr<int64_t>();
    const bool firstLayer = step->launches_.empty();
    if (firstLayer) {  // the first layer reads the fed tokens' embedding rows as its input (and residual)
      mix.input = embedding.data_ptr<float>();
      mix.inputStride = d;
      mix.inputTokens = tokens.data_ptr<int64_t>();
    }
    if (split) {  // the output projections as second matrices of the GEMVs before them (kernels.h: split output)
      RepeatDecodeGemv ff = withNorm(gemv(*up, residualCopy(first + 1), step->hidden_), block->patch_layernorm);
      if (!splitInto(mix, RepeatDecodeGemvKind::NormMix, *block->mix->out_proj, residualCopy(first + 1)) ||
          !splitInto(ff, RepeatDecodeGemvKind::NormGelu, *down, residualCopy(first + 2)))
        return nullptr;
      mix.clear = (first == 0 ? residualCopy(2 * layers) : residualCopy(first - 1)).data_ptr<float>();
      if (first > 0) ff.clear = residualCopy(first).data_ptr<float>();
      step->launches_.push_back({RepeatDecodeGemvKind::NormMix, mix});
      step->launches_.push_back({RepeatDecodeGemvKind::NormGelu, ff});
      continue;
    }
    RepeatDecodeGemv mixOut = gemv(*block->mix->out_proj, step->mixed_, step->x_);
    if (firstLayer) {
      mixOut.residual = embedding.data_ptr<float>();
      mixOut.residualStride = d;
      mixOut.residualTokens = tokens.data_ptr<int64_t>();
    }
    step->launches_.push_back({RepeatDecodeGemvKind::NormMix, mix});
    step->launches_.push_back({RepeatDecodeGemvKind::Residual, mixOut});
    step->launches_.push_back({RepeatDecodeGemvKind::NormGelu, withNorm(gemv(*up, step->x_, step->hidden_), block->patch_layernorm)});
    step->launches_.push_back({RepeatDecodeGemvKind::Residual, gemv(*down, step->hidden_, step->x_)});
  }
  const torch::nn::Linear& head = lm->head();
  if (!floatOn(head->weight, device)) return nullptr;
  RepeatDecodeGemv logits = gemv(*head, split ? residualCopy(2 * layers) : step->x_, step->x_);
  logits.output = nullptr;
  if (split) {
    logits.clear = residualCopy(2 * layers - 1).data_ptr<float>();
    logits.clearFloats = batch * d;
  }
  logits.argmax = step->argmaxKeys();
  logits.blocksDone = reinterpret_cast<unsigned int*>(step->blocksDone_.data_ptr<int32_t>());
  logits.nextTokens = tokens.data_ptr<int64_t>();
  logits.history = history.data_ptr<int64_t>();
  logits.stepPosition = position.data_ptr<int64_t>();
  logits.context = c.context;
  step->launches_.push_back({RepeatDecodeGemvKind::Argmax, logits});
  // One step as one kernel (opt-in, where the grid fits), else separate launches, handing over by flags if asked.
  const bool persistent = persistentRequested() && step->planPersistent(device);
  if (!persistent && flagHandoverRequested()) step->linkByFlags(device);
  if (const char* file = std::getenv("MASKMIX_DECODE_TIMELINE"); file != nullptr && !persistent) step->recordTimeline(device, position, file);
  if (!persistent) step->launchEarly(batch);  // after the timeline: its kernels take more registers
  return step;
}

}  // namespace

std::unique_ptr<FusedRepeatStep> FusedRepeatStep::tryBuild(LanguageModel& model, MixingStates& states, int64_t batch, kernels::DecodeWeights weights,
                                                           const at::Tensor& tokens, const at::Tensor& position, const at::Tensor& history) {
  // On by default since scripts/gpu/check-graphed-decoding.mjs passed on a GPU; MASKMIX_FUSED_DECODE=0 turns it off.
  if (envIs("MASKMIX_FUSED_DECODE", "0")) return nullptr;
  if (splitOutputRequested())
    if (auto step = buildStep(model, states, batch, weights, tokens, position, history, true)) return step;
  return buildStep(model, states, batch, weights, tokens, position, history, false);
}

#else

std::unique_ptr<FusedRepeatStep> FusedRepeatStep::tryBuild(LanguageModel&, MixingStates&, int64_t, kernels::DecodeWeights, const at::Tensor&, const at::Tensor&,
                                                           const at::Tensor&) {
  return nullptr;
}

#endif

}  // namespace maskmix
