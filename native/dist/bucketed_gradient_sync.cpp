#include "dist/bucketed_gradient_sync.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include "common/error.h"

namespace maskmix {

struct BucketedGradientSync::State {
  struct Slot {
    size_t bucket = 0;
    int64_t offset = 0;  // in elements, within the bucket
    int64_t numel = 0;
  };
  struct Bucket {
    at::Tensor flat;
    std::vector<size_t> members;  // indices into params
    size_t pending = 0;           // members whose gradient has not arrived this step
    c10::intrusive_ptr<c10d::Work> work;
  };

  std::shared_ptr<ProcessGroup> group;
  std::vector<at::Tensor> params;
  std::vector<Slot> slots;
  std::vector<Bucket> buckets;
  std::mutex mutex;
  bool armed = false;           // hooks act only inside a session: other backward passes are none of our business
  std::vector<uint8_t> ready;   // per parameter, this step
  size_t nextLaunch = 0;        // buckets launch in index order only
  int64_t launches = 0;         // all-reduces started, ever

  at::Tensor slice(size_t i) {
    const Slot& s = slots[i];
    return buckets[s.bucket].flat.narrow(0, s.offset, s.numel).view(params[i].sizes());
  }

  void arm() {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto& b : buckets) {
      b.pending = b.members.size();
      b.work.reset();
    }
    std::fill(ready.begin(), ready.end(), 0);
    nextLaunch = 0;
    armed = true;
  }

  void disarm() {
    std::lock_guard<std::mutex> lock(mutex);
    armed = false;
    for (auto& b : buckets) b.work.reset();
  }

  // Copies parameter i's gradient (zeros if it has none) into its bucket; mutex held.
  void collect(size_t i) {
    if (ready[i]) return;
    at::NoGradGuard noGrad;
    const at::Tensor& grad = params[i].grad();
    if (grad.defined()) {
      slice(i).copy_(grad);
    } else {
      slice(i).zero_();
    }
    ready[i] = 1;
    --buckets[slots[i].bucket].pending;
  }

  // Starts the all-reduce of every bucket that is full and whose predecessors have all started; mutex held.
  void launchReady() {
    at::NoGradGuard noGrad;
    while (nextLaunch < buckets.size() && buckets[nextLaunch].pending == 0) {
      Bucket& b = buckets[nextLaunch];
      b.flat.div_(static_cast<double>(group->worldSize()));
      b.work = group->startAllReduce(b.flat, c10d::ReduceOp::SUM,
                                     "gradient all-reduce of bucket " + std::to_string(nextLaunch + 1) + "/" +
                                         std::to_string(buckets.size()));
      ++nextLaunch;
      ++launches;
    }
  }

  // From the autograd hook, on whichever thread runs backward for the parameter's device.
  void onGradientReady(size_t i) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed) return;
    collect(i);
    if (buckets[slots[i].bucket].pending == 0) launchReady();
  }

  // After backward: starts what has not started (parameters without a gradient count as zeros), waits for all
  // buckets, and writes the averages back into the gradients.
  void finish() {
    std::lock_guard<std::mutex> lock(mutex);
    require(armed, "gradient sync finished outside a session", "INTERNAL");
    for (size_t i = 0; i < params.size(); ++i) collect(i);
    launchReady();
    for (size_t k = 0; k < buckets.size(); ++k) {
      group->wait(buckets[k].work, "gradient all-reduce of bucket " + std::to_string(k + 1) + "/" + std::to_string(buckets.size()));
      buckets[k].work.reset();
    }
    at::NoGradGuard noGrad;
    for (size_t i = 0; i < params.size(); ++i) {
      at::Tensor mean = slice(i);
      if (params[i].grad().defined()) {
        params[i].mutable_grad().copy_(mean);
      } else {
        params[i].mutable_grad() = mean.clone();
      }
    }
    armed = false;
  }

  // Every process takes `root`'s parameter values, bucket by bucket.
  void broadcastParameters(int root) {
    at::NoGradGuard noGrad;
    for (size_t k = 0; k < buckets.size(); ++k) {
      Bucket& b = buckets[k];
      for (size_t i : b.members) slice(i).copy_(params[i]);
      std::string what = "broadcast of initial parameters, bucket " + std::to_string(k + 1) + "/" + std::to_string(buckets.size());
      group->wait(group->startBroadcast(b.flat, root, what), what);
      for (size_t i : b.members) params[i].copy_(slice(i));
    }
  }
};

namespace {

// Runs after AccumulateGrad has written a parameter's gradient for this backward pass.
class GradientReadyHook : public torch::autograd::FunctionPostHook {
 public:
  GradientReadyHook(std::weak_ptr<BucketedGradientSync::State> state, size_t index) : state_(std::move(state)), index_(index) {}

  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    if (auto state = state_.lock()) state->onGradientReady(index_);
    return outputs;
  }

 private:
  std::weak_ptr<BucketedGradientSync::State> state_;
  size_t index_;
};

}  // namespace

class BucketedGradientSync::StepSession : public GradientSync::Session {
 public:
  StepSession(std::shared_ptr<State> state, std::unique_lock<std::mutex> collectives)
      : state_(std::move(state)), collectives_(std::move(collectives)) {
    state_->arm();
  }
  ~StepSession() override { state_->disarm(); }

  void finish() override { state_->finish(); }
  // Re-arming forgets nothing that matters: no bucket was filled or launched while off.
  void setSyncing(bool on) override {
    if (on) state_->arm();
    else state_->disarm();
  }

 private:
  std::shared_ptr<State> state_;
  std::unique_lock<std::mutex> collectives_;  // no other collective of this process interleaves with the step's
};

BucketedGradientSync::BucketedGradientSync(std::shared_ptr<ProcessGroup> group, std::vector<at::Tensor> params, int64_t bucketBytes)
    : group_(std::move(group)), state_(std::make_shared<State>()) {
  require(group_ != nullptr, "a process group is required");
  require(bucketBytes >= 1, "bucketBytes must be positive");
  State& s = *state_;
  s.group = group_;
  for (auto& p : params) {
    if (!p.requires_grad()) continue;
    require(p.device() == group_->device(), "the model's parameters are on " + p.device().str() + " but the process group (" +
                                                group_->backend() + ") works on " + group_->device().str());
    s.params.push_back(p);
  }
  require(!s.params.empty(), "the model has no trainable parameters");

  // Reverse order: backward produces the last layers' gradients first. A bucket holds one dtype.
  s.slots.resize(s.params.size());
  for (size_t n = s.params.size(); n-- > 0;) {
    const at::Tensor& p = s.params[n];
    int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    bool fresh = s.buckets.empty() || s.buckets.back().flat.scalar_type() != p.scalar_type() ||
                 (s.buckets.back().flat.numel() > 0 &&
                  (s.buckets.back().flat.numel() * static_cast<int64_t>(p.element_size()) + bytes) > bucketBytes);
    if (fresh) {
      State::Bucket b;
      b.flat = at::empty({0}, p.options().requires_grad(false));
      s.buckets.push_back(std::move(b));
    }
    State::Bucket& b = s.buckets.back();
    s.slots[n] = {s.buckets.size() - 1, b.flat.numel(), p.numel()};
    b.members.push_back(n);
    b.flat = at::empty({b.flat.numel() + p.numel()}, b.flat.options());
  }
  s.ready.assign(s.params.size(), 0);

  std::weak_ptr<State> weak = state_;
  for (size_t i = 0; i < s.params.size(); ++i) {
    std::shared_ptr<torch::autograd::Node> accumulator = torch::autograd::impl::grad_accumulator(s.params[i]);
    require(accumulator != nullptr, "parameter " + std::to_string(i) + " has no gradient accumulator", "INTERNAL");
    hookKeys_.push_back(accumulator->add_post_hook(std::make_unique<GradientReadyHook>(weak, i)));
    accumulators_.push_back(std::move(accumulator));
  }
}

BucketedGradientSync::~BucketedGradientSync() {
  for (size_t i = 0; i < accumulators_.size(); ++i) accumulators_[i]->del_post_hook(hookKeys_[i]);
}

int64_t BucketedGradientSync::numBuckets() const { return static_cast<int64_t>(state_->buckets.size()); }

int64_t BucketedGradientSync::bucketLaunches() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->launches;
}

std::unique_ptr<GradientSync::Session> BucketedGradientSync::begin() {
  group_->checkUsable();
  std::unique_lock<std::mutex> collectives = group_->lockCollectives();
  if (!broadcastDone_) {
    state_->broadcastParameters(0);
    broadcastDone_ = true;
  }
  return std::make_unique<StepSession>(state_, std::move(collectives));
}

}  // namespace maskmix
