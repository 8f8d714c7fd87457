// Long native work runs on libuv's thread pool and settles a Promise, so the event loop stays free.
// `work` runs off the JS thread and must not touch any Napi value; `settle` runs back on the JS thread and turns
// the work's result (captured by the lambdas) into a JS value.
#pragma once

#include <napi.h>

#include <functional>

#include "common/error.h"
#include "common/napi_guard.h"

namespace maskmix {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Settle = std::function<Napi::Value(Napi::Env)>;
  using Done = std::function<void()>;

  // `done`, if given, runs on the JS thread once the work has ended, whether it failed or not, before the promise
  // settles (e.g. to mark an object free again).
  static Napi::Promise start(Napi::Env env, Work work, Settle settle, Done done = {}) {
    auto* worker = new PromiseWorker(env, std::move(work), std::move(settle));
    worker->done_ = std::move(done);
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();  // node-addon-api deletes the worker after OnOK/OnError.
    return promise;
  }

 protected:
  void Execute() override {
    try {
      work_();
    } catch (...) {
      failure_ = describeCurrentException();
      failed_ = true;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (done_) done_();
    if (failed_) {
      deferred_.Reject(makeJsError(env, failure_).Value());
      return;
    }
    try {
      deferred_.Resolve(settle_(env));
    } catch (...) {
      deferred_.Reject(makeJsError(env, describeCurrentException()).Value());
    }
  }

  void OnError(const Napi::Error& e) override {
    if (done_) done_();
    deferred_.Reject(e.Value());
  }

 private:
  PromiseWorker(Napi::Env env, Work work, Settle settle)
      : Napi::AsyncWorker(env, "maskmix"), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        settle_(std::move(settle)) {}

  Napi::Promise::Deferred deferred_;
  Work work_;
  Settle settle_;
  Done done_;
  bool failed_ = false;
  ErrorInfo failure_;
};

}  // namespace maskmix
