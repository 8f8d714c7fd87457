#include "bindings/process_group_wrap.h"

#include <cstring>

#include "bindings/wrap_base.h"
#include "common/js_object.h"
#include "common/napi_guard.h"
#include "common/promise_worker.h"
#include "tensor/typed_array.h"

namespace maskmix {

namespace {
ProcessGroupOptions optionsFromJs(const Napi::Object& o) {
  ProcessGroupOptions p;
  p.backend = stringField(o, "backend", p.backend);
  p.rank = static_cast<int>(integerField(o, "rank", p.rank));
  p.worldSize = static_cast<int>(integerField(o, "worldSize", p.worldSize));
  p.masterAddr = stringField(o, "masterAddr", p.masterAddr);
  p.masterPort = static_cast<int>(integerField(o, "masterPort", p.masterPort));
  int64_t timeoutMs = integerField(o, "timeoutMs", p.timeout.count());
  require(timeoutMs >= 1, "timeoutMs must be ≥ 1");
  p.timeout = std::chrono::milliseconds(timeoutMs);
  p.device = stringField(o, "device", p.device);
  p.glooInterface = stringField(o, "glooInterface", p.glooInterface);
  return p;
}
}  // namespace

Napi::Function ProcessGroupWrap::define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "ProcessGroup",
                                   {
                                       InstanceMethod<&ProcessGroupWrap::barrier>("barrier"),
                                       InstanceMethod<&ProcessGroupWrap::allReduce>("allReduce"),
                                       InstanceMethod<&ProcessGroupWrap::broadcastBytes>("broadcastBytes"),
                                       InstanceMethod<&ProcessGroupWrap::destroy>("destroy"),
                                       InstanceAccessor<&ProcessGroupWrap::rank>("rank"),
                                       InstanceAccessor<&ProcessGroupWrap::worldSize>("worldSize"),
                                       InstanceAccessor<&ProcessGroupWrap::backend>("backend"),
                                       InstanceAccessor<&ProcessGroupWrap::device>("device"),
                                   });
  return remember(env, cls);
}

ProcessGroupWrap::ProcessGroupWrap(const Napi::CallbackInfo& info) : PrivatelyConstructed(info) {
  guard(info.Env(), [&] {
    require(hasToken(info), "use createProcessGroup(options) to make a ProcessGroup");
    group_ = takePending();
  });
}

Napi::Value ProcessGroupWrap::create(const Napi::CallbackInfo& info) {
  return asyncCall(info.Env(), [&]() -> Napi::Value {
    require(info.Length() >= 1 && info[0].IsObject(), "createProcessGroup(options: object)");
    ProcessGroupOptions options = optionsFromJs(info[0].As<Napi::Object>());
    auto made = std::make_shared<std::shared_ptr<ProcessGroup>>();
    // The rendezvous waits for every other process: never on the JS thread.
    return PromiseWorker::start(
        info.Env(), [options, made] { *made = std::make_shared<ProcessGroup>(options); },
        [made](Napi::Env e) -> Napi::Value { return construct(e, std::move(*made)); });
  });
}

std::shared_ptr<ProcessGroup> ProcessGroupWrap::live() const {
  require(group_ != nullptr, "the process group was destroyed", "DISPOSED");
  return group_;
}

std::shared_ptr<ProcessGroup> ProcessGroupWrap::unwrap(const Napi::Value& value, const char* what) {
  return unwrapInstance(value, what, "ProcessGroup")->live();
}

Napi::Value ProcessGroupWrap::barrier(const Napi::CallbackInfo& info) {
  return asyncCall(info.Env(), [&]() -> Napi::Value {
    auto group = live();
    return PromiseWorker::start(
        info.Env(),
        [group] {
          auto lock = group->lockCollectives();
          group->barrier();
        },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
  });
}

// allReduce(values: Float64Array, op: 'sum' | 'mean' | 'max' | 'min'): Promise<Float64Array>
Napi::Value ProcessGroupWrap::allReduce(const Napi::CallbackInfo& info) {
  return asyncCall(info.Env(), [&]() -> Napi::Value {
    auto group = live();
    require(info.Length() >= 1 && info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_float64_array,
            "allReduce(values: Float64Array, op)");
    std::string op = info.Length() > 1 && !info[1].IsUndefined() ? info[1].ToString().Utf8Value() : "sum";
    c10d::ReduceOp::RedOpType reduce = c10d::ReduceOp::SUM;
    if (op == "max") {
      reduce = c10d::ReduceOp::MAX;
    } else if (op == "min") {
      reduce = c10d::ReduceOp::MIN;
    } else {
      require(op == "sum" || op == "mean", "op must be 'sum', 'mean', 'max' or 'min', got '" + op + "'");
    }
    auto array = info[0].As<Napi::TypedArray>();
    at::Tensor values = tensorFromTypedArray(array, {static_cast<int64_t>(array.ElementLength())}, "float64");
    auto out = std::make_shared<at::Tensor>();
    return PromiseWorker::start(
        info.Env(),
        [group, values, reduce, op, out] {
          at::Tensor t = values.to(group->device());
          {
            auto lock = group->lockCollectives();
            group->wait(group->startAllReduce(t, reduce, "all-reduce"), "all-reduce");
          }
          if (op == "mean") t.div_(static_cast<double>(group->worldSize()));
          *out = t.cpu();
        },
        [out](Napi::Env env) -> Napi::Value {
          Napi::Float64Array result = Napi::Float64Array::New(env, static_cast<size_t>(out->numel()));
          if (out->numel() > 0) std::memcpy(result.Data(), out->data_ptr<double>(), out->numel() * sizeof(double));
          return result;
        });
  });
}

// broadcastBytes(bytes: Uint8Array | null, root: number): Promise<Uint8Array> — every rank gets root's bytes.
Napi::Value ProcessGroupWrap::broadcastBytes(const Napi::CallbackInfo& info) {
  return asyncCall(info.Env(), [&]() -> Napi::Value {
    auto group = live();
    require(info.Length() >= 2 && info[1].IsNumber(), "broadcastBytes(bytes: Uint8Array | null, root: number)");
    int root = info[1].As<Napi::Number>().Int32Value();
    require(root >= 0 && root < group->worldSize(), "root must be a rank in [0, " + std::to_string(group->worldSize()) + ")");
    at::Tensor payload;
    if (group->rank() == root) {
      require(info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array,
              "the root rank must pass its bytes as a Uint8Array");
      auto bytes = info[0].As<Napi::Uint8Array>();
      payload = at::empty({static_cast<int64_t>(bytes.ElementLength())}, at::kByte);
      if (bytes.ElementLength() > 0) std::memcpy(payload.data_ptr<uint8_t>(), bytes.Data(), bytes.ElementLength());
    }
    auto out = std::make_shared<at::Tensor>();
    return PromiseWorker::start(
        info.Env(),
        [group, root, payload, out] {
          auto lock = group->lockCollectives();
          auto on = at::TensorOptions().device(group->device());
          // Length first, so the other ranks can size their buffers.
          at::Tensor length = at::full({1}, payload.defined() ? payload.numel() : 0, on.dtype(at::kLong));
          group->wait(group->startBroadcast(length, root, "broadcast of a length"), "broadcast of a length");
          int64_t n = length.item<int64_t>();
          at::Tensor data = payload.defined() ? payload.to(group->device()) : at::empty({n}, on.dtype(at::kByte));
          if (n > 0) group->wait(group->startBroadcast(data, root, "broadcast of bytes"), "broadcast of bytes");
          *out = data.cpu();
        },
        [out](Napi::Env env) -> Napi::Value {
          auto result = Napi::Uint8Array::New(env, static_cast<size_t>(out->numel()));
          if (out->numel() > 0) std::memcpy(result.Data(), out->data_ptr<uint8_t>(), static_cast<size_t>(out->numel()));
          return result;
        });
  });
}

Napi::Value ProcessGroupWrap::destroy(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    group_.reset();  // work in flight keeps its own reference; the backend goes once that is done
    return info.Env().Undefined();
  });
}

Napi::Value ProcessGroupWrap::rank(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::Number::New(info.Env(), live()->rank()); });
}

Napi::Value ProcessGroupWrap::worldSize(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::Number::New(info.Env(), live()->worldSize()); });
}

Napi::Value ProcessGroupWrap::backend(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::String::New(info.Env(), live()->backend()); });
}

Napi::Value ProcessGroupWrap::device(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::String::New(info.Env(), live()->device().str()); });
}

Napi::Value distributedBackends(const Napi::CallbackInfo& info) {
  Napi::Array list = Napi::Array::New(info.Env());
#ifdef MASKMIX_WITH_GLOO
  list.Set(list.Length(), "gloo");
#endif
#ifdef MASKMIX_WITH_NCCL
  list.Set(list.Length(), "nccl");
#endif
  return list;
}

std::shared_ptr<BucketedGradientSync> makeGradientSync(const Napi::Value& group, const Napi::Value& options,
                                                       std::vector<at::Tensor> params) {
  if (group.IsNull() || group.IsUndefined()) return nullptr;
  std::shared_ptr<ProcessGroup> live = ProcessGroupWrap::unwrap(group, "group");
  int64_t bucketBytes = BucketedGradientSync::kDefaultBucketBytes;
  if (options.IsObject()) bucketBytes = integerField(options.As<Napi::Object>(), "bucketBytes", bucketBytes);
  require(bucketBytes >= 1, "bucketBytes must be ≥ 1");
  return std::make_shared<BucketedGradientSync>(std::move(live), std::move(params), bucketBytes);
}

}  // namespace maskmix
