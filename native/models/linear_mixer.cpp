#include "models/linear_mixer.h"

#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "decode/growing_cache.h"
#include "decode/position_ring.h"

namespace maskmix {

namespace {

// Rows along dim 1 of [H, rows, b, dh] that drop from the front in O(1) and append in amortised O(rows) (the
// buffer compacts or doubles when full): a sliding window of past outputs or inputs.
class SlidingRows {
 public:
  at::Tensor view() const { return length_ > 0 ? buffer_.narrow(1, start_, length_) : at::Tensor(); }
  int64_t length() const { return length_; }
  void append(const at::Tensor& rows) {
    const int64_t m = rows.size(1);
    if (!buffer_.defined() || start_ + length_ + m > buffer_.size(1)) {
      std::vector<int64_t> shape = rows.sizes().vec();
      shape[1] = std::max<int64_t>(16, 2 * (length_ + m));
      at::Tensor grown = at::empty(shape, rows.options());
      if (length_ > 0) grown.narrow(1, 0, length_).copy_(view());
      buffer_ = grown;
      start_ = 0;
    }
    buffer_.narrow(1, start_ + length_, m).copy_(rows);
    length_ += m;
  }
  void dropFront(int64_t k) {
    start_ += k;
    length_ -= k;
  }
  // Replaces the content (a rebuilt selection).
  void assign(const at::Tensor& rows) {
    buffer_ = rows.contiguous();
    start_ = 0;
    length_ = rows.size(1);
  }
  // Bytes of the rows held (the buffer adds at most 2× plus 16 rows of slack for amortised appends).
  int64_t bytes() const { return length_ > 0 ? static_cast<int64_t>(view().numel() * buffer_.element_size()) : 0; }

 private:
  at::Tensor buffer_;
  int64_t start_ = 0, length_ = 0;
};

// One layer's decoding cache: the past inputs A's lags read (attention: all; local: the last w − 1) and the past
// outputs B reads from now on (pattern.retainedAfter), nothing else. Host-side steps and prefills keep them as
// growing and shrinking rows (the exact retained set). Steps at a device-held position (greedy decoding: a CUDA
// graph on a GPU) need fixed memory and no host arithmetic, so prepareStepOnDevice() moves the cache into a fixed
// form, and the next host-side call moves it back:
//   translation-invariant patterns: two rings of the pattern's reach (A: lagsA − 1 positions, B: maxOffset);
//   lattices: one row per B slot, the output that slot reads at the next position. The read sets are nested
//     (S_{i+1} ⊆ S_i ∪ {i}), so after step i each slot's next row is the just-computed y_i or a row some slot holds
//     now, found by comparing the slots' sources at i and i + 1 on the device: O(slots) rows, as the host cache.
class LinearMixingState : public MixingState {
 public:
  explicit LinearMixingState(LinearMixing mix) : mix_(std::move(mix)) {}

  at::Tensor prefill(const at::Tensor& x) override {
    const LinearPattern& pattern = mix_->pattern();
    leaveDeviceForm();
    at::Tensor u = mix_->heads(x);
    rowShape_ = {u.size(0), u.size(2), u.size(3)};
    rowOptions_ = u.options();
    rowDtype_ = u.scalar_type();
    const int64_t m = u.size(1), last = position_ + m - 1;
    at::Tensor y = mix_->mix(u, position_, inputs_.view(), outputs_.view(), &positions_);
    // Inputs: keep the last lagsA − 1.
    if (pattern.lagsA() > 1) {
      inputs_.append(u);
      int64_t excess = inputs_.length() - (pattern.lagsA() - 1);
      if (excess > 0) inputs_.dropFront(excess);
    }
    // Outputs: keep what later rows read.
    if (pattern.slotsB() > 0) {
      std::vector<int64_t> keep = pattern.retainedAfter(last);
      if (!pattern.lattice()) {
        // A suffix of positions: append, then drop what fell out of the window.
        outputs_.append(y);
        for (int64_t i = position_; i <= last; ++i) positions_.push_back(i);
        int64_t drop = 0;
        while (drop < static_cast<int64_t>(positions_.size()) && (keep.empty() || positions_[static_cast<size_t>(drop)] < keep.front())) ++drop;
        outputs_.dropFront(drop);
        positions_.erase(positions_.begin(), positions_.begin() + drop);
      } else {
        // The lattice set changes by more than its ends: select the kept rows (O(|S|), the cache's own size).
        std::vector<int64_t> rows;
        const int64_t held = static_cast<int64_t>(positions_.size());
        for (int64_t j : keep) {
          if (j >= position_) {
            rows.push_back(held + j - position_);
          } else {
            auto it = std::lower_bound(positions_.begin(), positions_.end(), j);
            require(it != positions_.end() && *it == j, "linear mixer cache: a kept position was evicted earlier", "INTERNAL");
            rows.push_back(static_cast<int64_t>(it - positions_.begin()));
          }
        }
        at::Tensor all = held > 0 ? at::cat({outputs_.view(), y}, 1) : y;
        outputs_.assign(all.index_select(1, at::tensor(rows, at::TensorOptions().dtype(at::kLong)).to(all.device())));
        positions_ = keep;
      }
    }
    position_ += m;
    return mix_->merge(y);
  }

  std::unique_ptr<MixingState> clone(int64_t copies) const override {
    auto copy = std::make_unique<LinearMixingState>(mix_);
    copy->position_ = position_;
    copy->rowShape_ = rowShape_;
    copy->rowOptions_ = rowOptions_;
    copy->rowDtype_ = rowDtype_;
    if (copy->rowShape_.size() == 3) copy->rowShape_[1] *= copies;
    // Batch is dim 2 of [H, rows, b, dh]; each sequence's copies adjacent. The copy starts host-side.
    HostCache past = inDeviceForm_ ? deviceFormAsHost() : HostCache{inputs_.view(), outputs_.view(), positions_};
    copy->positions_ = past.positions;
    if (past.inputs.defined()) copy->inputs_.append(past.inputs.repeat_interleave(copies, 2));
    if (past.outputs.defined()) copy->outputs_.append(past.outputs.repeat_interleave(copies, 2));
    return copy;
  }

  // The host-side form plus the fixed form while it is allocated (on a GPU it stays allocated once entered: a
  // captured graph keeps its addresses).
  int64_t bytes() const override {
    return inputs_.bytes() + outputs_.bytes() + inputRing_.bytes() + outputRing_.bytes() +
           (slotRows_.defined() ? static_cast<int64_t>(slotRows_.numel() * slotRows_.element_size()) : 0);
  }

  // Once something was fed (the rows' shape is known).
  bool canStepOnDevice() const override { return rowShape_.size() == 3; }

  // Attention's and dense's held steps read their whole ring (the context) at every position.
  bool heldStepsCostMore() const override {
    const LinearPatternKind kind = mix_->pattern().kind();
    return kind == LinearPatternKind::Attention || kind == LinearPatternKind::Dense;
  }

  void prepareStepOnDevice() override {
    if (inDeviceForm_ || !canStepOnDevice()) return;
    const LinearPattern& pattern = mix_->pattern();
    auto longs = at::TensorOptions().dtype(at::kLong);
    if (!offsets_.defined()) {
      // Held in the step's compute dtype (as linearMixing: float32, float64 stays), so it reads them without a cast.
      auto held = rowOptions_.dtype(rowDtype_ == at::kDouble ? at::kDouble : at::kFloat);
      offsets_ = at::tensor(pattern.offsets(), longs).to(rowOptions_.device());
      // Index vectors the step reads every time, made once here instead of an arange kernel per step.
      slotIndices_ = at::arange(pattern.slotsB(), longs.device(rowOptions_.device()));
      ringSlots_ = at::arange(std::max(pattern.lagsA() - 1, pattern.maxOffset()), longs.device(rowOptions_.device()));
      if (pattern.lagsA() > 1) inputRing_.allocate(pattern.lagsA() - 1, rowShape_, held);
      if (pattern.slotsB() > 0) {
        if (pattern.lattice()) {
          latticeSteps_ = at::tensor(pattern.latticeSteps(), longs).to(rowOptions_.device());
          slotRows_ = at::zeros({rowShape_[0], pattern.slotsB(), rowShape_[1], rowShape_[2]}, held);
        } else {
          outputRing_.allocate(pattern.maxOffset(), rowShape_, held);
        }
      }
    }
    if (inputs_.length() > 0) inputRing_.write(position_ - inputs_.length(), inputs_.view());
    if (outputs_.length() > 0) {
      if (!pattern.lattice()) {
        outputRing_.write(positions_.front(), outputs_.view());  // a suffix of positions
      } else {
        // Slot k's row: the held output at source(position_, k) (slots that read nothing yet take row 0: masked).
        std::vector<int64_t> rows;
        for (int64_t k = 0; k < pattern.slotsB(); ++k) {
          const int64_t j = pattern.source(position_, k);
          auto it = std::lower_bound(positions_.begin(), positions_.end(), j);
          require(j < 0 || (it != positions_.end() && *it == j), "linear mixer cache: a lattice slot's source is not held", "INTERNAL");
          rows.push_back(j >= 0 ? static_cast<int64_t>(it - positions_.begin()) : 0);
        }
        slotRows_.copy_(outputs_.view().index_select(1, at::tensor(rows, longs).to(rowOptions_.device())));
      }
    }
    inputs_ = SlidingRows();
    outputs_ = SlidingRows();
    positions_.clear();
    inDeviceForm_ = true;
  }

  at::Tensor stepOnDevice(const at::Tensor& x, const at::Tensor& position) override {
    prepareStepOnDevice();  // a no-op when a decoder prepared before capturing (it always does)
    require(inDeviceForm_, "this linear mixer's decoding state cannot step at a device-held position", "INTERNAL");
    const LinearPattern& pattern = mix_->pattern();
    const int64_t KB = pattern.slotsB();
    at::Tensor u = mix_->heads(x);
    // The past rows, read in place where every ring slot is read (A's lags; B's offsets 1 … R): ring slot s holds
    // position q ≡ s (mod R) among the last R, so its lag / offset is ((position − s − 1) mod R) + 1 (slots not yet
    // written get lags the position cannot read, masked by stepAt). B's sparse offsets (pow2, square) gather their
    // slots' rows instead, and a lattice's slot rows are already in slot order.
    auto ringOffsets = [&](const PositionRing& ring) {
      const int64_t R = ring.slots().size(1);
      return (position - ringSlots_.narrow(0, 0, R) - 1).remainder(R) + 1;
    };
    LinearMixingImpl::PastRows inputs, outputs;
    if (inputRing_.allocated()) inputs = {inputRing_.slots(), ringOffsets(inputRing_)};
    if (outputRing_.allocated() && KB == pattern.maxOffset()) {
      outputs = {outputRing_.slots(), ringOffsets(outputRing_) - 1};  // offsets 1 … R are slots 0 … R − 1
    } else if (outputRing_.allocated()) {
      outputs = {outputRing_.gather((position - offsets_).clamp_min(0)), slotIndices_};
    } else if (slotRows_.defined()) {
      outputs = {slotRows_, slotIndices_};
    }
    at::Tensor y = mix_->stepAt(u, position, inputs, outputs, offsets_);
    // After the reads: position's ring slot held the oldest row this step read.
    if (inputRing_.allocated()) inputRing_.writeAt(position, u);
    if (outputRing_.allocated()) outputRing_.writeAt(position, y);
    if (slotRows_.defined()) {
      // The rows of the next position: slot k reads y or what slot k' read now, where source(p + 1, k) = p or
      // source(p, k'); the first match (duplicates hold the same row). Slots that read nothing take any row.
      at::Tensor candidates = at::cat({latticeSources(position), position});                     // [KB + 1]
      at::Tensor pick = latticeSources(position + 1).unsqueeze(1).eq(candidates.unsqueeze(0)).to(at::kInt).argmax(1);
      slotRows_.copy_(at::cat({slotRows_, y.to(slotRows_.scalar_type())}, 1).index_select(1, pick));
    }
    return mix_->merge(y);
  }

  void advancedOnDevice() override { position_ += 1; }

 private:
  struct HostCache {
    at::Tensor inputs, outputs;       // [H, P, b, dh], [H, Q, b, dh] (undefined when empty)
    std::vector<int64_t> positions;  // of the outputs, ascending
  };

  // What the host-side form holds, copied from the device form.
  HostCache deviceFormAsHost() const {
    const LinearPattern& pattern = mix_->pattern();
    HostCache past;
    past.inputs = inputRing_.allocated() ? inputRing_.window(position_) : at::Tensor();
    if (past.inputs.defined()) past.inputs = past.inputs.to(rowDtype_);
    if (outputRing_.allocated()) {
      past.outputs = outputRing_.window(position_);
      if (past.outputs.defined()) {
        past.outputs = past.outputs.to(rowDtype_);
        for (int64_t j = position_ - past.outputs.size(1); j < position_; ++j) past.positions.push_back(j);
      }
    } else if (slotRows_.defined() && position_ > 0) {
      past.positions = pattern.retainedAfter(position_ - 1);  // = the sources of position_, distinct, ascending
      std::vector<int64_t> slots;
      for (int64_t j : past.positions)
        for (int64_t k = 0; k < pattern.slotsB(); ++k)
          if (pattern.source(position_, k) == j) {
            slots.push_back(k);
            break;
          }
      require(slots.size() == past.positions.size(), "linear mixer cache: a retained position is held by no slot", "INTERNAL");
      if (!slots.empty())
        past.outputs = slotRows_.index_select(1, at::tensor(slots, at::TensorOptions().dtype(at::kLong)).to(slotRows_.device())).to(rowDtype_);
    }
    return past;
  }

  // Back to the host-side form. On a GPU the fixed form stays allocated (a captured graph keeps its addresses);
  // on the CPU, where no graph holds it, it is freed.
  void leaveDeviceForm() {
    if (!inDeviceForm_) return;
    HostCache past = deviceFormAsHost();
    if (past.inputs.defined()) inputs_.assign(past.inputs);
    if (past.outputs.defined()) outputs_.assign(past.outputs);
    positions_ = past.positions;
    inDeviceForm_ = false;
    if (!rowOptions_.device().is_cuda()) {
      inputRing_ = PositionRing();
      outputRing_ = PositionRing();
      slotRows_ = offsets_ = latticeSteps_ = slotIndices_ = ringSlots_ = at::Tensor();
    }
  }

  // Lattice slots' sources at the positions `i` ([1] int64): a_k·⌈(i + 1 − f_k)/a_k⌉ − 1, or −1 where f_k > i.
  at::Tensor latticeSources(const at::Tensor& i) const {
    at::Tensor rounded = latticeSteps_ * at::div(i + 1 - offsets_ + latticeSteps_ - 1, latticeSteps_, "floor") - 1;
    return at::where(offsets_.le(i), rounded, at::full_like(rounded, -1));
  }

  LinearMixing mix_;
  SlidingRows inputs_;              // [H, P, b, dh], positions position − P … position − 1
  SlidingRows outputs_;             // [H, Q, b, dh], at positions_
  std::vector<int64_t> positions_;  // ascending
  int64_t position_ = 0;
  std::vector<int64_t> rowShape_;   // {H, b, dh} once something was fed
  at::TensorOptions rowOptions_;
  at::ScalarType rowDtype_ = at::kFloat;
  // The device form (prepareStepOnDevice): rings, or a lattice's slot rows [H, KB, b, dh]; the B offsets f_k and
  // lattice steps a_k on the device.
  bool inDeviceForm_ = false;
  PositionRing inputRing_, outputRing_;
  at::Tensor slotRows_, offsets_, latticeSteps_;
  at::Tensor slotIndices_;  // 0 … KB − 1
  at::Tensor ringSlots_;    // 0 … the longer ring's slots − 1
};

}  // namespace

LinearMixingImpl::LinearMixingImpl(const ModelConfig& c) : gated_(c.coefficients == "gated"), heads_(c.nHeads) {
  require(c.coefficients == "static" || c.coefficients == "gated", "coefficients must be 'static' or 'gated'", "CONFIG_INVALID");
  require(c.nHeads >= 1 && c.dModel % c.nHeads == 0, "a linear mixer needs nHeads dividing dModel", "CONFIG_INVALID");
  require(c.projections || c.nHeads == 1, "a linear mixer without projections mixes the whole width as one head: nHeads must be 1",
          "CONFIG_INVALID");
  // Sequential stays a test reference of the op (one row at a time): too slow to train with.
  require(c.linearSolve == "auto" || c.linearSolve == "dense" || c.linearSolve == "chunked",
          "linearSolve must be 'auto', 'dense' or 'chunked', got '" + c.linearSolve + "'", "CONFIG_INVALID");
  solve_ = linearSolveFromName(c.linearSolve);
  pattern_ = std::make_shared<LinearPattern>(linearPatternFromName(c.pattern), c.context, c.order, c.window);
  const int64_t d = c.dModel, n = c.context, H = c.nHeads, dh = d / H, KA = pattern_->lagsA(), KB = pattern_->slotsB();
  if (c.projections) in_proj = register_module("in_proj", torch::nn::Linear(d, d));
  auto uniform = [](std::vector<int64_t> shape, double bound) { return torch::empty(shape).uniform_(-bound, bound); };
  if (!gated_) {
    // α as the masked mixer's Conv1d default, U(±1/√fan_in) with fan_in the lags a row mixes (n for attention: the
    // mixer's own init); β small enough that each row's Σ_k |β| ≤ ½ (a contraction at the start of training).
    alpha = register_parameter("alpha", uniform({H, n, KA}, 1.0 / std::sqrt(static_cast<double>(KA))));
    if (KB > 0) beta = register_parameter("beta", uniform({H, n, KB}, 0.5 / static_cast<double>(KB)));
    bias = register_parameter("bias", uniform({H, n}, 1.0 / std::sqrt(static_cast<double>(n))));
  } else {
    // Small logits: near-uniform convex weights at the start.
    gate_weight = register_parameter("gate_weight", torch::randn({H, KA + KB, dh}) * 0.02);
    gate_bias = register_parameter("gate_bias", torch::zeros({H, KA + KB}));
  }
  if (c.projections) out_proj = register_module("out_proj", torch::nn::Linear(d, d));
}

at::Tensor LinearMixingImpl::heads(const at::Tensor& x) {
  if (!in_proj) return x.unsqueeze(0);
  int64_t m = x.size(0), b = x.size(1);
  return in_proj->forward(x).view({m, b, heads_, -1}).permute({2, 0, 1, 3});
}

at::Tensor LinearMixingImpl::merge(const at::Tensor& y) {
  if (!out_proj) return y.squeeze(0);
  int64_t m = y.size(1), b = y.size(2);
  return out_proj->forward(y.permute({1, 2, 0, 3}).reshape({m, b, -1}));
}

at::Tensor LinearMixingImpl::gateLogits(const at::Tensor& u) {
  // One GEMM per head over all m·b rows: broadcasting the weights over the batch instead makes at::matmul copy them
  // b times, which dominated decoding steps at batch 64 for attention's and dense's thousands of slots.
  const int64_t H = u.size(0), m = u.size(1), b = u.size(2), K = gate_weight.size(1);
  const auto dtype = u.scalar_type();
  return at::matmul(u.reshape({H, m * b, u.size(3)}), gate_weight.transpose(1, 2).to(dtype)).view({H, m, b, K}).permute({0, 2, 1, 3}) +
         gate_bias.view({H, 1, 1, K}).to(dtype);
}

at::Tensor LinearMixingImpl::gateWeights(const at::Tensor& logits, const at::Tensor& used, at::ScalarType dtype) {
  return at::softmax(logits.to(dtype).masked_fill(used.eq(0), -INFINITY), -1);
}

at::Tensor LinearMixingImpl::mix(const at::Tensor& u, int64_t position, const at::Tensor& pastInputs, const at::Tensor& pastOutputs,
                                 const std::vector<int64_t>* pastPositions) {
  const int64_t m = u.size(1), KA = pattern_->lagsA(), KB = pattern_->slotsB();
  require(position + m <= pattern_->context(), "linear mixer: positions pass the context", "CONTEXT_FULL");
  LinearMixInput in;
  in.x = u;
  in.position = position;
  in.pastInputs = pastInputs;
  in.pastOutputs = pastOutputs;
  in.pastPositions = pastPositions;
  if (!gated_) {
    in.alpha = alpha.narrow(1, position, m).unsqueeze(1);
    if (KB > 0) in.beta = beta.narrow(1, position, m).unsqueeze(1);
    in.bias = bias.narrow(1, position, m);
  } else {
    const at::ScalarType dtype = u.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    const auto opts = u.options().dtype(dtype);
    at::Tensor used = at::cat({pattern_->validA(position, m, opts), pattern_->validB(position, m, opts)}, 1);
    at::Tensor weights = gateWeights(gateLogits(u), used, dtype);
    in.alpha = weights.narrow(3, 0, KA);
    if (KB > 0) in.beta = weights.narrow(3, KA, KB);
  }
  return linearMixing(*pattern_, in, solve_, chunk_);
}

at::Tensor LinearMixingImpl::stepAt(const at::Tensor& u, const at::Tensor& position, const PastRows& inputs, const PastRows& outputs,
                                    const at::Tensor& offsets) {
  const int64_t H = u.size(0), b = u.size(2), dh = u.size(3), KA = pattern_->lagsA(), KB = pattern_->slotsB();
  require(u.size(1) == 1 && position.numel() == 1, "linear mixing: a held-position step takes one position", "SHAPE_MISMATCH");
  // Gate logits as mix() makes them: in u's dtype, under the caller's autocast (bf16 on a GPU under 'auto').
  at::Tensor logits;
  if (gated_) logits = gateLogits(u);  // [H, b, 1, KA + KB]
  // The rest as linearMixing: float32 (float64 stays float64), autocast off.
  c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::autocast_dispatch_keyset);
  const at::ScalarType dtype = u.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const auto longs = position.options().dtype(at::kLong);
  at::Tensor lags = at::arange(KA, longs);
  at::Tensor validA = lags.le(position).to(dtype);                                      // [KA]
  at::Tensor validB = KB > 0 ? offsets.le(position).to(dtype) : at::Tensor();           // [KB]
  // The row's coefficients, [H, C, 1, K] with C = 1 (static: shared by the batch) or b (gated: per sequence).
  at::Tensor a, betaRow, rowBias;
  if (!gated_) {
    a = alpha.index_select(1, position).to(dtype).unsqueeze(1);
    if (KB > 0) betaRow = beta.index_select(1, position).to(dtype).unsqueeze(1);
    rowBias = bias.index_select(1, position).to(dtype).view({H, 1, 1, 1});
  } else {
    at::Tensor used = KB > 0 ? at::cat({validA, validB}) : validA;
    at::Tensor weights = gateWeights(logits, used, dtype);  // [H, b, 1, KA + KB]
    a = weights.narrow(3, 0, KA);
    if (KB > 0) betaRow = weights.narrow(3, KA, KB);
  }
  const int64_t C = a.size(1);
  // [H, r, b, dh] ↔ [H, C, r, F] as in linearMixing: shared coefficients mix every sequence's channels at once.
  auto internal = [&](const at::Tensor& t) {
    at::Tensor v = t.to(dtype);
    return C == 1 ? v.reshape({H, 1, v.size(1), -1}) : v.permute({0, 2, 1, 3});
  };
  // Each past row takes the coefficient of its lag / slot (masked where the position cannot read it yet).
  at::Tensor z = a.narrow(3, 0, 1) * internal(u);  // lag 0
  if (inputs.rows.defined()) z = z + at::matmul((a * validA).index_select(3, inputs.coefficient), internal(inputs.rows));
  if (rowBias.defined()) z = z + rowBias;
  at::Tensor y = z;
  if (outputs.rows.defined()) y = z + at::matmul((betaRow * validB).index_select(3, outputs.coefficient), internal(outputs.rows));
  return (C == 1 ? y.reshape({H, 1, b, dh}) : y.permute({0, 2, 1, 3})).to(u.scalar_type());
}

at::Tensor LinearMixingImpl::forward(const at::Tensor& x) { return merge(mix(heads(x), 0)); }

LinearBlockImpl::LinearBlockImpl(const ModelConfig& c) : StructuredBlockImpl(c, [&c] { return LinearMixing(c).ptr(); }) {
  mix = LinearMixing(std::dynamic_pointer_cast<LinearMixingImpl>(mixing_));
}

LinearMixerLM::LinearMixerLM(const ModelConfig& config) : StructuredBlockModel(config, [&config] { return LinearBlock(config).ptr(); }) {}

std::unique_ptr<MixingState> LinearMixerLM::newState(StructuredBlockImpl& block) {
  return std::make_unique<LinearMixingState>(dynamic_cast<LinearBlockImpl&>(block).mix);
}

}  // namespace maskmix
