// Data-parallel gradient averaging with buckets of ~25 MB all-reduced while backward is still running.
//
// Why our own bucketing rather than c10d's Reducer: the Reducer's constructor and its companion ProcessGroup
// changed shape between libtorch 1.13 and 2.x (2.x wants a dispatching ProcessGroup built around a Backend), it
// pulls in comm hooks, unused-parameter search, static-graph and logging machinery we do not use, and it expects
// to own the gradients' memory. What we need is small: a post-accumulate hook on each parameter's gradient
// accumulator (a stable autograd API in both versions) that copies the fresh gradient into its bucket, and the
// bucket's all-reduce started as soon as the bucket is full.
//
// Buckets are filled in reverse parameter order, roughly the order backward produces gradients, and are launched
// strictly in bucket order, so every process issues the same collectives in the same order even if its autograd
// happened to finish gradients in another order. Each bucket is divided by the world size before its (sum)
// all-reduce, so the result is the mean. The first step of the first session broadcasts rank 0's parameters, so
// every process starts from the same weights. Cost: one gradient-sized buffer, and a copy into and out of it.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <mutex>
#include <vector>

#include "dist/process_group.h"
#include "train/gradient_sync.h"

namespace torch::autograd {
struct Node;
}

namespace maskmix {

class BucketedGradientSync : public GradientSync {
 public:
  static constexpr int64_t kDefaultBucketBytes = 25 * 1024 * 1024;

  // `params`: the parameters the trainer updates (those that require grad take part), all on the group's device.
  BucketedGradientSync(std::shared_ptr<ProcessGroup> group, std::vector<at::Tensor> params, int64_t bucketBytes = kDefaultBucketBytes);
  ~BucketedGradientSync() override;
  BucketedGradientSync(const BucketedGradientSync&) = delete;
  BucketedGradientSync& operator=(const BucketedGradientSync&) = delete;

  std::unique_ptr<Session> begin() override;

  int64_t numBuckets() const;
  // Bucket all-reduces started since construction (for tests: no_sync micro-batches must start none).
  int64_t bucketLaunches() const;

  // Shared with the autograd hooks, which may outlive this object inside the graph of the model's parameters.
  struct State;

 private:
  class StepSession;

  std::shared_ptr<ProcessGroup> group_;
  std::shared_ptr<State> state_;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;  // kept alive so our hooks stay attached
  std::vector<uintptr_t> hookKeys_;
  bool broadcastDone_ = false;
};

}  // namespace maskmix
