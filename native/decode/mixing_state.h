// Incremental decoding, model side. A decoder (decode/decoder.h) feeds a model the next m tokens at a time; every
// layer that mixes tokens keeps what it needs of the past in a MixingState: a repeat mixer its running sums (O(1)
// per head), the masked mixer its past mixing inputs (O(n·d)), a transformer its keys and values. A new kind of
// token-mixing layer plugs in by implementing MixingState, and its model by implementing CachedDecoding.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "common/error.h"
#include "models/language_model.h"

namespace maskmix {

class MixingState {
 public:
  virtual ~MixingState() = default;
  // Mixes the next m positions (x: the layer's token-mixing input for them, in the model's layout) and advances
  // past them. Returns the mixing output, before the residual add.
  virtual at::Tensor prefill(const at::Tensor& x) = 0;
  // The same for one position; layers with a recurrence run the recurrence here.
  virtual at::Tensor step(const at::Tensor& x) { return prefill(x); }
  // An independent copy: both continue identically from here. copies > 1 repeats every sequence of the batch
  // that many times (batch b becomes b·copies, each sequence's copies adjacent): one prefilled prompt continued
  // several ways.
  virtual std::unique_ptr<MixingState> clone(int64_t copies = 1) const = 0;
  // Device memory held, in bytes.
  virtual int64_t bytes() const = 0;

  // CUDA-graph decoding (decode/graphed_greedy_step.h). A state that can step with the position held in a device
  // tensor [1] (int64), updating itself in place, lets one captured step replay at every position.
  virtual bool canStepOnDevice() const { return false; }
  // x: one position's mixing input; returns the mixing output, as step() does.
  virtual at::Tensor stepOnDevice(const at::Tensor& /*x*/, const at::Tensor& /*position*/) {
    fail("INTERNAL", "this decoding state cannot step at a device-held position");
  }
  // Whether a held-position step does more work than a host-side step (it reads a fixed reach that grows with the
  // context, where the host-side step reads only the positions so far): without a CUDA graph to gain, greedy
  // decoding then steps on the host.
  virtual bool heldStepsCostMore() const { return false; }
  // Called before device-position steps are captured or run (never during a capture): a state that keeps its
  // cache differently for them (fixed memory) moves it there; its next host-side call moves it back.
  virtual void prepareStepOnDevice() {}
  // A replay of a captured step ran: advance host-side bookkeeping by one position.
  virtual void advancedOnDevice() {}
  // The running sums a recurrent state updates in place ([groups, batch·width], float32), for decoding kernels
  // that step them directly (decode/fused_repeat_step.h); undefined for other states.
  virtual at::Tensor runningSums() const { return {}; }
};

using MixingStates = std::vector<std::unique_ptr<MixingState>>;

// Implemented by models that decode with a cache.
class CachedDecoding {
 public:
  virtual ~CachedDecoding() = default;
  // Fresh states (position 0), one per layer, for `batch` sequences.
  virtual MixingStates newMixingStates(int64_t batch) = 0;
  // tokens: [batch, m] int64 on the model's device, the next m tokens → the final hidden states of those m
  // positions. Must equal what the full forward computes at those positions.
  virtual LanguageModel::Hidden decodeHidden(const at::Tensor& tokens, MixingStates& states) = 0;
  // Why the context is fixed, for the error a decoder gives when it is full.
  virtual const char* contextReason() const = 0;
  // false: this configuration of the model has no cached path, and decoders re-run the prefix instead.
  virtual bool cachedDecodingAvailable() const { return true; }
  // decodeHidden for one token per sequence through MixingState::stepOnDevice, at the device-held position;
  // models whose layers can all do so override it. An undefined result means "not supported".
  virtual LanguageModel::Hidden decodeStepOnDevice(const at::Tensor& /*tokens*/, MixingStates& /*states*/, const at::Tensor& /*position*/) {
    return {};
  }
};

}  // namespace maskmix
