// The JavaScript `Decoder` class: a decoding session over one Model (decode/decoder.h). prefill and step are
// async (libuv's pool) and run one at a time per session: a second call while one is in flight answers BUSY.
#pragma once

#include <napi.h>

#include <memory>

#include "bindings/model_handle.h"
#include "bindings/wrap_base.h"
#include "decode/decoder.h"

namespace maskmix {

// What a JS Decoder and the async calls in flight on it share.
struct DecoderSession {
  std::shared_ptr<ModelHandle> handle;
  std::unique_ptr<Decoder> decoder;
  bool busy = false;  // set and cleared on the JS thread only
};

// Made by `new Decoder(model, …)` from JS, or privately by clone().
class DecoderWrap : public PrivatelyConstructed<DecoderWrap, std::shared_ptr<DecoderSession>> {
 public:
  using Session = DecoderSession;

  static Napi::Function define(Napi::Env env);
  // new Decoder(model, { batch, mode, precision })
  explicit DecoderWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value prefill(const Napi::CallbackInfo& info);
  Napi::Value step(const Napi::CallbackInfo& info);
  Napi::Value greedy(const Napi::CallbackInfo& info);
  Napi::Value clone(const Napi::CallbackInfo& info);
  Napi::Value reset(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value position(const Napi::CallbackInfo& info);
  Napi::Value batch(const Napi::CallbackInfo& info);
  Napi::Value cacheBytes(const Napi::CallbackInfo& info);
  Napi::Value mode(const Napi::CallbackInfo& info);
  // prefill and step: validate on the JS thread, run in a PromiseWorker.
  Napi::Value advance(const Napi::CallbackInfo& info, bool isStep);
  // The live decoder for a synchronous call: fails with DISPOSED or BUSY.
  Decoder& idle();

  std::shared_ptr<Session> session_;
};

}  // namespace maskmix
