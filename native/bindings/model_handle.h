// A model shared between its JS handle and the async calls in flight on it. Calls on one model run one at a time
// (the mutex); synchronous methods that would have to wait fail with BUSY instead of blocking the event loop.
#pragma once

#include <memory>
#include <mutex>

#include "common/error.h"
#include "models/language_model.h"

namespace maskmix {

struct ModelHandle {
  std::shared_ptr<LanguageModel> model;
  std::mutex mutex;

  // The model, or DISPOSED. Call with the mutex held.
  LanguageModel& live() {
    require(model != nullptr, "model was disposed", "DISPOSED");
    return *model;
  }
};

// Holds the handle's mutex for a synchronous JS-thread call, or fails with BUSY if async work holds it.
class TryLock {
 public:
  explicit TryLock(ModelHandle& handle) : lock_(handle.mutex, std::try_to_lock) {
    require(lock_.owns_lock(), "the model is busy with an async call (await it first)", "BUSY");
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace maskmix
