// What the N-API wrap classes share: construction only through a private token, unwrapping an argument with an
// error that names the class, the BUSY refusal of a call while async work is in flight, and the async-call
// plumbing that turns every C++ failure into a rejected promise (no C++ exception ever crosses N-API).
//
// Token construction is a CRTP base: each class's constructor and token live in the environment's AddonData
// (napi_guard.h; one per worker thread), keyed by the class, and the payload handed to the next instance in a
// per-class thread_local.
// The rest are free functions: the trainers are made by `new` from JS (no token), yet lock and call async too.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "bindings/call_queue.h"
#include "common/error.h"
#include "common/napi_guard.h"
#include "common/promise_worker.h"

namespace maskmix {

// What `object` points to, or DISPOSED ("<noun> was disposed") once it was released.
template <typename Pointer>
auto& requireNotDisposed(const Pointer& object, const char* noun) {
  require(object != nullptr, std::string(noun) + " was disposed", "DISPOSED");
  return *object;
}

// A synchronous call on an object that async work owns fails with BUSY instead of blocking the event loop.
inline void requireIdle(bool idle, const char* noun) {
  require(idle, std::string("the ") + noun + " is busy with an async call (await it first)", "BUSY");
}

// Holds a handle's mutex for a synchronous JS-thread call, or fails with BUSY while async calls on it are queued or
// running. A handle has a `mutex`, a CallQueue `calls`, a `live()` model and a `kNoun` that names it in errors
// (ModelHandle, RetrievalHandle).
class TryLock {
 public:
  template <typename Handle>
  explicit TryLock(Handle& handle) : lock_(handle.mutex, std::defer_lock) {
    requireIdle(handle.calls.idle() && lock_.try_lock(), Handle::kNoun);
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

// A synchronous call on a handle: locked (BUSY while async calls on it are queued or running); failures become JS
// exceptions.
template <typename Handle, typename Fn>
Napi::Value withLockedHandle(const Napi::CallbackInfo& info, Handle& handle, Fn&& fn) {
  return guard(info.Env(), [&]() -> Napi::Value {
    TryLock lock(handle);
    return fn(handle);
  });
}

// The same, on the handle's live model (DISPOSED once it was disposed).
template <typename Handle, typename Fn>
Napi::Value withLiveModel(const Napi::CallbackInfo& info, Handle& handle, Fn&& fn) {
  return withLockedHandle(info, handle, [&](Handle& locked) -> Napi::Value { return fn(locked.live()); });
}

// A synchronous read of what never changes once the model is built (config, parameter count): no lock, so it answers
// while async calls run. Safe because only the JS thread replaces or disposes a handle's model.
template <typename Handle, typename Fn>
Napi::Value withModelFacts(const Napi::CallbackInfo& info, Handle& handle, Fn&& fn) {
  return guard(info.Env(), [&]() -> Napi::Value { return fn(handle.live()); });
}

// A promise rejected with the exception being handled. Call only from inside a catch block.
inline Napi::Promise rejectedPromise(Napi::Env env) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(makeJsError(env, describeCurrentException()).Value());
  return deferred.Promise();
}

// Every async entry point: `start` checks the arguments on the JS thread and queues the work (PromiseWorker);
// whatever it throws comes back as a rejected promise, so a call answers with a promise even when its arguments
// are wrong.
template <typename Start>
Napi::Value asyncCall(Napi::Env env, Start&& start) {
  try {
    return start();
  } catch (...) {
    return rejectedPromise(env);
  }
}

// Queues an async call on a handle (CallQueue): `work` runs on the thread pool with the handle locked, after the
// calls made before it; `done` runs on the JS thread when it has ended, before the next call starts.
template <typename Handle>
Napi::Promise queueHandleCall(Napi::Env env, const std::shared_ptr<Handle>& handle, PromiseWorker::Work work,
                              PromiseWorker::Settle settle, PromiseWorker::Done done = {}) {
  PromiseWorker* worker = PromiseWorker::create(
      env,
      [handle, work = std::move(work)] {
        std::lock_guard<std::mutex> lock(handle->mutex);
        work();
      },
      std::move(settle),
      [handle, done = std::move(done)] {
        if (done) done();
        handle->calls.finished();
      });
  Napi::Promise promise = worker->promise();
  handle->calls.push(worker);
  return promise;
}

// An async call on a handle: `prepare` checks the arguments on the JS thread and returns {work, settle}; the work
// runs on the thread pool, in call order (CallQueue), with the handle locked, and gets its live model; `settle`
// makes the JS result. `prepare` reads the model without the lock (only its config, which never changes; only the
// JS thread disposes it), so a call made while others run waits its turn instead of failing BUSY.
template <typename Handle, typename Prepare>
Napi::Value asyncHandleCall(const Napi::CallbackInfo& info, const std::shared_ptr<Handle>& handle, Prepare&& prepare) {
  return asyncCall(info.Env(), [&]() -> Napi::Value {
    auto [work, settle] = prepare();
    return queueHandleCall(info.Env(), handle, [handle, work = std::move(work)] { work(handle->live()); }, std::move(settle));
  });
}

// Base of a JS class whose instances only native code makes (createModel(), clone(), …): `construct(payload)`
// passes the constructor a token JS never sees, so `new Model()` from JS fails with a clear error instead of
// making an empty object.
template <typename Wrap, typename Payload>
class PrivatelyConstructed : public Napi::ObjectWrap<Wrap> {
 protected:
  explicit PrivatelyConstructed(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Wrap>(info) {}

  // Keeps the class DefineClass made (call once from define()) and makes its token, both in this environment.
  static Napi::Function remember(Napi::Env env, Napi::Function cls) {
    rememberPrivateClass<Wrap>(env, cls);
    return cls;
  }

  // A new instance built around `payload` (JS thread).
  static Napi::Object construct(Napi::Env env, Payload payload) {
    pending_ = std::move(payload);
    PrivateClass& cls = privateClass<Wrap>(env);
    return cls.constructor.New({cls.token.Value()});
  }

  // In the constructor: whether construct() called it; then takePending() hands over the payload.
  static bool hasToken(const Napi::CallbackInfo& info) {
    return info.Length() == 1 && info[0].StrictEquals(privateClass<Wrap>(info.Env()).token.Value());
  }
  static Payload takePending() { return std::move(pending_); }

  // The instance `value` is, or INVALID_ARGUMENT "<what> must be a <className>".
  static Wrap* unwrapInstance(const Napi::Value& value, const char* what, const char* className) {
    require(value.IsObject() && value.As<Napi::Object>().InstanceOf(privateClass<Wrap>(value.Env()).constructor.Value()),
            std::string(what) + " must be a " + className);
    return Napi::ObjectWrap<Wrap>::Unwrap(value.As<Napi::Object>());
  }

 private:
  // Per thread like the environments: construct() hands it to the constructor it calls synchronously.
  inline static thread_local Payload pending_;
};

}  // namespace maskmix
