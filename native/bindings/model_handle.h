// A model shared between its JS handle and the async calls in flight on it. Async calls on one model run one at a
// time in call order (CallQueue; the mutex guards the work); synchronous methods that need the model fail with BUSY
// while any is queued or running instead of blocking the event loop (TryLock in bindings/wrap_base.h).
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
  CallQueue calls;
  double parameterCount = 0;  // counted when the model is built; it never changes

  // The model, or DISPOSED. Call with the mutex held.
  LanguageModel& live() { return requireNotDisposed(model, kNoun); }
};

}  // namespace maskmix
