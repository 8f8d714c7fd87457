// A model shared between its JS handle and the async calls in flight on it. Calls on one model run one at a time
// (the mutex); synchronous methods that would have to wait fail with BUSY instead of blocking the event loop
// (TryLock in bindings/wrap_base.h).
#pragma once

#include <memory>
#include <mutex>

#include "bindings/wrap_base.h"
#include "models/language_model.h"

namespace maskmix {

struct ModelHandle {
  static constexpr const char* kNoun = "model";
  std::shared_ptr<LanguageModel> model;
  std::mutex mutex;

  // The model, or DISPOSED. Call with the mutex held.
  LanguageModel& live() { return requireNotDisposed(model, kNoun); }
};

}  // namespace maskmix
