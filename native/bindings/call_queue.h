// The async calls on one model (its own, its decoders' and its trainers'): they run one at a time, in the order
// JavaScript made them. A call waits here, on the JS thread, rather than on the model's mutex in libuv's pool, so a
// waiting call holds no pool thread and none is ever refused; synchronous methods that need the model answer BUSY
// while anything is queued (TryLock), the same whether a call is running or only waiting.
#pragma once

#include <deque>
#include <functional>
#include <memory>

#include "common/promise_worker.h"

namespace maskmix {

class CallQueue {
 public:
  // Queues `worker` to run after the calls before it; `finished()` must run on the JS thread when it ends (the
  // worker's `done`). JS thread only.
  void push(PromiseWorker* worker) {
    waiting_.push_back(worker);
    if (waiting_.size() > 1) return;
    try {
      worker->Queue();
    } catch (...) {
      waiting_.pop_back();  // never started: it must not block the calls after it
      throw;
    }
  }

  // The running call ended: the next one starts.
  void finished() {
    if (!waiting_.empty()) waiting_.pop_front();
    if (!waiting_.empty()) waiting_.front()->Queue();
  }

  bool idle() const { return waiting_.empty(); }

 private:
  std::deque<PromiseWorker*> waiting_;  // the running call first
};

}  // namespace maskmix
