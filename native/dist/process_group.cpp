#include "dist/process_group.h"

#include "common/error.h"
#include "dist/distributed_error.h"

namespace maskmix {

namespace {

[[maybe_unused]] bool isLoopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

c10::intrusive_ptr<c10d::Store> connectStore(const ProcessGroupOptions& o) {
  c10d::TCPStoreOptions store;
  store.port = static_cast<std::uint16_t>(o.masterPort);
  store.isServer = o.rank == 0;
  store.numWorkers = static_cast<std::size_t>(o.worldSize);
  store.waitWorkers = true;  // rank 0's constructor returns once every rank has connected
  store.timeout = o.timeout;
  auto tcp = c10::make_intrusive<c10d::TCPStore>(o.masterAddr, store);
  // Our keys live under a prefix of their own, so other users of the store cannot collide with them.
  return c10::make_intrusive<c10d::PrefixStore>("maskmix/", tcp);
}

#ifdef MASKMIX_WITH_GLOO
c10::intrusive_ptr<compat::CollectiveBackend> makeGloo(const c10::intrusive_ptr<c10d::Store>& store, const ProcessGroupOptions& o) {
  auto options = c10d::ProcessGroupGloo::Options::create(o.timeout);
  // Gloo needs to be told which address to listen on. A loopback master means a single-host job: stay on loopback.
  if (!o.glooInterface.empty()) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(o.glooInterface));
  } else if (isLoopback(o.masterAddr)) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  } else {
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, o.rank, o.worldSize, options);
}
#endif

#ifdef MASKMIX_WITH_NCCL
c10::intrusive_ptr<compat::CollectiveBackend> makeNccl(const c10::intrusive_ptr<c10d::Store>& store, const ProcessGroupOptions& o) {
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = o.timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, o.rank, o.worldSize, options);
}
#endif

}  // namespace

ProcessGroup::ProcessGroup(const ProcessGroupOptions& options) : options_(options), device_(at::kCPU) {
  const ProcessGroupOptions& o = options_;
  require(o.worldSize >= 1, "worldSize must be ≥ 1");
  require(o.rank >= 0 && o.rank < o.worldSize, "rank must be in [0, worldSize), got rank " + std::to_string(o.rank) +
                                                   " of " + std::to_string(o.worldSize));
  require(o.masterPort > 0 && o.masterPort < 65536, "masterPort must be in 1..65535");
  require(!o.masterAddr.empty(), "masterAddr must not be empty");
  require(o.timeout.count() > 0, "timeout must be positive");
  try {
    device_ = at::Device(o.device);
  } catch (...) {
    fail("INVALID_ARGUMENT", "device must be 'cpu' or 'cuda:N', got '" + o.device + "'");
  }
  if (o.backend == "gloo") {
#ifndef MASKMIX_WITH_GLOO
    fail("DISTRIBUTED", "this addon was built without Gloo (needs a libtorch with USE_C10D_GLOO and Gloo's headers: "
                        "apt-get install libgloo-dev, then rebuild)");
#endif
    require(device_.is_cpu(), "the gloo backend reduces CPU tensors; use backend 'nccl' for CUDA devices");
  } else if (o.backend == "nccl") {
#ifndef MASKMIX_WITH_NCCL
    fail("DISTRIBUTED", "this addon was built without NCCL (it needs a CUDA libtorch built with NCCL)");
#endif
    require(device_.is_cuda() && device_.has_index(), "the nccl backend needs a device 'cuda:N'");
  } else {
    fail("INVALID_ARGUMENT", "backend must be 'gloo' or 'nccl', got '" + o.backend + "'");
  }

  std::string joining = "rendezvous at " + o.masterAddr + ":" + std::to_string(o.masterPort) + " (rank " + std::to_string(o.rank) +
                        " of " + std::to_string(o.worldSize) + ")";
  store_ = translateDistributedErrors(joining, [&] { return connectStore(o); });
  // The backend's constructor finishes the rendezvous: Gloo connects to every peer here.
  translateDistributedErrors(joining + ", connecting the " + o.backend + " backend,", [&] {
#ifdef MASKMIX_WITH_GLOO
    if (o.backend == "gloo") backend_ = makeGloo(store_, o);
#endif
#ifdef MASKMIX_WITH_NCCL
    if (o.backend == "nccl") backend_ = makeNccl(store_, o);
#endif
  });
  require(backend_, "no backend was created", "INTERNAL");
}

void ProcessGroup::checkUsable() const {
  std::lock_guard<std::mutex> lock(failureMutex_);
  if (!failure_.empty()) fail("DISTRIBUTED", "the process group is unusable after an earlier failure: " + failure_);
}

void ProcessGroup::markFailed(const std::string& message) {
  std::lock_guard<std::mutex> lock(failureMutex_);
  if (failure_.empty()) failure_ = message;
}

void ProcessGroup::failCollective(const std::string& what) {
  try {
    rethrowAsDistributedError(what + " (rank " + std::to_string(rank()) + " of " + std::to_string(worldSize()) + ")");
  } catch (const Error& e) {
    markFailed(e.what());
    throw;
  }
}

c10::intrusive_ptr<c10d::Work> ProcessGroup::startAllReduce(at::Tensor& tensor, c10d::ReduceOp::RedOpType op, const std::string& what) {
  checkUsable();
  require(tensor.device() == device_, what + ": tensor is on " + tensor.device().str() + ", the group on " + device_.str());
  try {
    std::vector<at::Tensor> tensors{tensor};
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp(op);
    options.timeout = options_.timeout;
    return backend_->allreduce(tensors, options);
  } catch (...) {
    failCollective(what);
  }
}

c10::intrusive_ptr<c10d::Work> ProcessGroup::startBroadcast(at::Tensor& tensor, int root, const std::string& what) {
  checkUsable();
  require(root >= 0 && root < worldSize(), "broadcast root must be a rank of the group");
  require(tensor.device() == device_, what + ": tensor is on " + tensor.device().str() + ", the group on " + device_.str());
  try {
    std::vector<at::Tensor> tensors{tensor};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    options.timeout = options_.timeout;
    return backend_->broadcast(tensors, options);
  } catch (...) {
    failCollective(what);
  }
}

void ProcessGroup::wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what) {
  try {
    if (device_.is_cuda()) {
      work->wait();  // stream-ordered; a host wait here would stall the GPU pipeline
    } else if (!work->wait(options_.timeout)) {
      fail("DISTRIBUTED", "the collective was aborted");
    }
  } catch (...) {
    failCollective(what);
  }
}

void ProcessGroup::barrier() {
  checkUsable();
  // A one-element all-reduce everywhere: Gloo's own barrier would do on the CPU, but NCCL's guesses a device, and
  // reading the result back makes the host wait for the GPU too.
  at::Tensor token = at::ones({1}, at::TensorOptions().dtype(at::kFloat).device(device_));
  wait(startAllReduce(token, c10d::ReduceOp::SUM, "barrier"), "barrier");
  double arrived = token.item<double>();
  require(arrived == static_cast<double>(worldSize()), "barrier counted " + std::to_string(arrived) + " processes, expected " +
                                                          std::to_string(worldSize()), "DISTRIBUTED");
}

}  // namespace maskmix
