// One process's membership in a group of `worldSize` processes that train together: rendezvous through a c10d
// TCPStore hosted by rank 0, then a c10d backend for the collectives — NCCL for CUDA tensors (CUDA builds only),
// Gloo for CPU tensors. Every call here blocks; the bindings run them on libuv's pool, never on the JS thread.
#pragma once

#include <ATen/ATen.h>

#include <chrono>
#include <mutex>
#include <string>

#include "dist/c10d_compat.h"

namespace maskmix {

struct ProcessGroupOptions {
  std::string backend = "gloo";  // "gloo" (CPU tensors) or "nccl" (CUDA tensors)
  int rank = 0;
  int worldSize = 1;
  std::string masterAddr = "127.0.0.1";  // where rank 0 hosts the TCPStore
  int masterPort = 29500;
  std::chrono::milliseconds timeout{10 * 60 * 1000};  // rendezvous, and each collective
  std::string device = "cpu";  // where this process's tensors live: "cpu" for gloo, "cuda:N" for nccl
  std::string glooInterface;   // network interface Gloo binds to; empty: loopback for a loopback master, else by hostname
};

class ProcessGroup {
 public:
  // Joins the group: returns once all `worldSize` processes have connected, or fails after `timeout`.
  explicit ProcessGroup(const ProcessGroupOptions& options);

  int rank() const { return options_.rank; }
  int worldSize() const { return options_.worldSize; }
  const std::string& backend() const { return options_.backend; }
  const at::Device& device() const { return device_; }
  std::chrono::milliseconds timeout() const { return options_.timeout; }

  // Collectives are matched across processes by the order they are issued in, so one process must never issue
  // two at once from different threads. Everything that issues collectives holds this lock while it does.
  std::unique_lock<std::mutex> lockCollectives() { return std::unique_lock<std::mutex>(collectiveMutex_); }

  // The calls below need the lock held. start* return at once; wait() finishes what they started.
  c10::intrusive_ptr<c10d::Work> startAllReduce(at::Tensor& tensor, c10d::ReduceOp::RedOpType op, const std::string& what);
  c10::intrusive_ptr<c10d::Work> startBroadcast(at::Tensor& tensor, int root, const std::string& what);
  // Gloo: blocks until done, at most `timeout`. NCCL: orders this thread's CUDA stream after the collective (no
  // host wait); ProcessGroupNCCL's watchdog ends the process if the collective overruns the timeout.
  void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what);
  // Blocks until every process has reached its barrier.
  void barrier();

  // After a failed collective the group's state differs between processes; later calls fail at once with this.
  void checkUsable() const;
  void markFailed(const std::string& message);

 private:
  // Rethrows the exception being handled as a DISTRIBUTED error naming `what`, and marks the group failed.
  [[noreturn]] void failCollective(const std::string& what);

  ProcessGroupOptions options_;
  at::Device device_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<compat::CollectiveBackend> backend_;
  std::mutex collectiveMutex_;
  mutable std::mutex failureMutex_;
  std::string failure_;
};

}  // namespace maskmix
