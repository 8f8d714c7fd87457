// The one hook through which a Trainer takes part in data-parallel training. It knows nothing of processes or
// backends: the trainer opens a session before the forward pass and, after backward, calls finish(), which returns
// once every parameter's gradient is the average over all processes. A session may already be reducing gradients
// while backward runs. Ending the session (also when the step throws) releases whatever it holds.
#pragma once

#include <memory>

namespace maskmix {

class GradientSync {
 public:
  class Session {
   public:
    virtual ~Session() = default;
    // Called between backward and gradient clipping.
    virtual void finish() = 0;
    // Gradient accumulation (PyTorch DDP's no_sync): while off, a backward pass only adds to the local gradients
    // and starts no collective. The trainer turns it off for all micro-batches but the last, whose backward then
    // reduces the sum of every micro-batch's gradient. A session starts on.
    virtual void setSyncing(bool on) = 0;
  };

  virtual ~GradientSync() = default;
  // Called at the start of a training step, before the forward pass.
  virtual std::unique_ptr<Session> begin() = 0;
};

}  // namespace maskmix
