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
    PromiseWorker* worker = create(env, std::move(work), std::move(settle), std::move(done));
    Napi::Promise promise = worker->promise();
    worker->Queue();  // node-addon-api deletes the worker after OnOK/OnError.
    return promise;
  }

  // The same without queueing it: the caller calls Queue() when the work may start (CallQueue); until then the
  // worker is the caller's.
  static PromiseWorker* create(Napi::Env env, Work work, Settle settle, Done done = {}) {
    auto* worker = new PromiseWorker(env, std::move(work), std::move(settle));
    worker->done_ = std::move(done);
    return worker;
  }

  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      work_();
    } catch (...) {
      failure_ = describeCurrentException();
      failed_ = true;
    }
  }

  // Settling fails only while the environment is going away (worker.terminate() with the call in flight): then
  // nobody is left to tell, and an exception escaping here would end in std::terminate and take the whole process.
  void OnOK() override {
    runDone();
    try {
      Napi::Env env = Env();
      if (failed_) {
        deferred_.Reject(makeJsError(env, failure_).Value());
        return;
      }
      Napi::Value value;
      try {
        value = settle_(env);
      } catch (...) {
        deferred_.Reject(makeJsError(env, describeCurrentException()).Value());
        return;
      }
      deferred_.Resolve(value);
    } catch (...) {
      // The environment is being torn down.
    }
  }

  void OnError(const Napi::Error& e) override {
    runDone();
    try {
      deferred_.Reject(e.Value());
    } catch (...) {
      // The environment is being torn down.
    }
  }

  // node-addon-api's completion opens a handle scope before OnOK and rethrows what escapes OnOK as a JS exception,
  // and either can fail while the environment is being torn down, throwing a Napi::Error into libuv's callback:
  // std::terminate (seen as SIGABRT in test/model/worker-threads.test.ts under load). Nobody is left to tell then;
  // the work is over, so free what it held and the worker.
  void OnWorkComplete(Napi::Env env, napi_status status) override {
    try {
      Napi::AsyncWorker::OnWorkComplete(env, status);  // OnOK or OnError, then deletes this worker
    } catch (...) {
      runDone();
      Destroy();
    }
  }

 private:
  PromiseWorker(Napi::Env env, Work work, Settle settle)
      : Napi::AsyncWorker(env, "maskmix"), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        settle_(std::move(settle)) {}

  // `done` frees what the call held (an object's busy flag, the next queued call); it must run even at teardown.
  // Runs it once.
  void runDone() {
    Done done = std::move(done_);
    done_ = nullptr;
    try {
      if (done) done();
    } catch (...) {
      // The environment is being torn down.
    }
  }

  Napi::Promise::Deferred deferred_;
  Work work_;
  Settle settle_;
  Done done_;
  bool failed_ = false;
  ErrorInfo failure_;
};

}  // namespace maskmix
