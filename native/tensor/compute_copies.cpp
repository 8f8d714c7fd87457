#include "tensor/compute_copies.h"

#include <c10/util/intrusive_ptr.h>

#include <mutex>
#include <unordered_map>

#include "common/env_setting.h"

#ifdef MASKMIX_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace maskmix {

namespace {

struct Copy {
  explicit Copy(const at::Tensor& w) : weight(w.getIntrusivePtr()) {}
  // A weak reference keeps the weight's TensorImpl from being reused at the same address while the entry exists,
  // so a new weight can never match a dead one's entry.
  c10::weak_intrusive_ptr<c10::TensorImpl> weight;
  at::Tensor copy;
  const void* data = nullptr;
  uint32_t version = 0;
};

std::mutex mutex;
// Never destroyed: its CUDA tensors must not be freed by static destruction after the CUDA runtime has gone.
auto& copies = *new std::unordered_map<const c10::TensorImpl*, Copy>();

bool current(const Copy& c, const at::Tensor& w) {
  return !c.weight.expired() && c.data == w.data_ptr() && c.version == w._version() && c.copy.sizes() == w.sizes();
}

void record(Copy& c, const at::Tensor& w) {
  c.data = w.data_ptr();
  c.version = w._version();
}

// Whether the current stream is capturing a CUDA graph: a copy made then would come from the graph's private pool.
bool capturing(const at::Tensor& w) {
#ifdef MASKMIX_WITH_CUDA
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  cudaStreamIsCapturing(at::cuda::getCurrentCUDAStream(w.device().index()).stream(), &status);
  return status != cudaStreamCaptureStatusNone;
#else
  (void)w;
  return false;
#endif
}

// Entries of weights that are gone (called with the mutex held).
void pruneExpired() {
  for (auto it = copies.begin(); it != copies.end();) it = it->second.weight.expired() ? copies.erase(it) : std::next(it);
}

}  // namespace

void dropFreedCopies() {
  std::lock_guard<std::mutex> lock(mutex);
  pruneExpired();
}

bool weightCopiesOn() { return envIs("MASKMIX_ADAMW", "maskmix") && !envSaysOff("MASKMIX_WEIGHT_COPIES"); }

at::Tensor computeCopy(const at::Tensor& w, at::ScalarType dtype) {
  if (!weightCopiesOn() || dtype != at::kBFloat16 || w.scalar_type() != at::kFloat || !w.is_cuda() || !w.is_contiguous()) return w.to(dtype);
  std::lock_guard<std::mutex> lock(mutex);
  auto it = copies.find(w.unsafeGetTensorImpl());
  if (it != copies.end() && current(it->second, w)) return it->second.copy;
  if (capturing(w)) return w.to(dtype);  // cast inside the graph, every replay: correct, only not faster
  if (it == copies.end()) {
    pruneExpired();
    it = copies.emplace(w.unsafeGetTensorImpl(), Copy(w)).first;
  }
  Copy& c = it->second;
  if (!c.copy.defined() || c.copy.sizes() != w.sizes()) c.copy = at::empty(w.sizes(), w.options().dtype(at::kBFloat16));
  c.copy.copy_(w.detach());
  record(c, w);
  return c.copy;
}

at::Tensor copyOf(const at::Tensor& param) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = copies.find(param.unsafeGetTensorImpl());
  if (it == copies.end() || it->second.weight.expired() || it->second.copy.sizes() != param.sizes()) return {};
  return it->second.copy;
}

void markCopiesCurrent(const std::vector<at::Tensor>& params) {
  std::lock_guard<std::mutex> lock(mutex);
  for (const auto& p : params) {
    auto it = copies.find(p.unsafeGetTensorImpl());
    if (it != copies.end() && !it->second.weight.expired()) record(it->second, p);
  }
}

void refreshStaleCopies(const std::vector<at::Tensor>& params) {
  std::lock_guard<std::mutex> lock(mutex);
  for (const auto& p : params) {
    auto it = copies.find(p.unsafeGetTensorImpl());
    if (it == copies.end() || it->second.weight.expired() || current(it->second, p)) continue;
    if (it->second.copy.sizes() != p.sizes()) continue;  // a reshaped weight: its products cast, the copy is unused
    it->second.copy.copy_(p.detach());
    record(it->second, p);
  }
}

}  // namespace maskmix
