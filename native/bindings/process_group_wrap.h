// The JavaScript `ProcessGroup` class (made by `createProcessGroup(options)`, which joins the group off the event
// loop) and the link from a Trainer to it: the gradient synchroniser built over a model's parameters.
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include <ATen/ATen.h>

#include "bindings/wrap_base.h"
#include "dist/bucketed_gradient_sync.h"
#include "dist/process_group.h"

namespace maskmix {

class ProcessGroupWrap : public PrivatelyConstructed<ProcessGroupWrap, std::shared_ptr<ProcessGroup>> {
 public:
  static Napi::Function define(Napi::Env env);
  // createProcessGroup({ backend, rank, worldSize, masterAddr, masterPort, timeoutMs, device, glooInterface })
  static Napi::Value create(const Napi::CallbackInfo& info);
  // The live group behind a JS ProcessGroup; INVALID_ARGUMENT if it is not one, DISPOSED once destroyed.
  static std::shared_ptr<ProcessGroup> unwrap(const Napi::Value& value, const char* what);

  explicit ProcessGroupWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value barrier(const Napi::CallbackInfo& info);
  Napi::Value allReduce(const Napi::CallbackInfo& info);
  Napi::Value broadcastBytes(const Napi::CallbackInfo& info);
  Napi::Value destroy(const Napi::CallbackInfo& info);
  Napi::Value rank(const Napi::CallbackInfo& info);
  Napi::Value worldSize(const Napi::CallbackInfo& info);
  Napi::Value backend(const Napi::CallbackInfo& info);
  Napi::Value device(const Napi::CallbackInfo& info);

  std::shared_ptr<ProcessGroup> live() const;

  std::shared_ptr<ProcessGroup> group_;
};

// distributedBackends(): the c10d backends this addon was built with, e.g. ['gloo'] or ['gloo', 'nccl'].
Napi::Value distributedBackends(const Napi::CallbackInfo& info);

// For Trainer.setProcessGroup(group, { bucketBytes }): a synchroniser over `params`, or null when `group` is null
// or undefined (data parallelism off).
std::shared_ptr<BucketedGradientSync> makeGradientSync(const Napi::Value& group, const Napi::Value& options,
                                                       std::vector<at::Tensor> params);

}  // namespace maskmix
