// Differences between the libtorch versions maskmix builds against (Debian's 1.13 CPU build and 2.x with CUDA),
// guarded at compile time in this one header.
#pragma once

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#define MASKMIX_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace maskmix::compat {

#if MASKMIX_TORCH_AT_LEAST(2, 9) && !defined(MASKMIX_NO_MM_OUT_DTYPE)
// Whether cuBLAS writes a·b in float32 itself (the out_dtype overloads): bf16 or half operands of one dtype on CUDA.
inline bool gemmWritesFloat(const at::Tensor& a, const at::Tensor& b) {
  return a.is_cuda() && (a.scalar_type() == at::kBFloat16 || a.scalar_type() == at::kHalf) && b.scalar_type() == a.scalar_type();
}
#endif

// a·b as `out` (float32 weight gradients from bf16 operands): on CUDA with libtorch 2.9+ the GEMM writes float32
// itself (mm's out_dtype overload; cuBLAS accumulates in float32 either way), elsewhere the product is cast after,
// one more pass over the result. MASKMIX_NO_MM_OUT_DTYPE turns it off for a libtorch without that overload.
inline at::Tensor mmAs(const at::Tensor& a, const at::Tensor& b, at::ScalarType out) {
#if MASKMIX_TORCH_AT_LEAST(2, 9) && !defined(MASKMIX_NO_MM_OUT_DTYPE)
  if (out == at::kFloat && gemmWritesFloat(a, b)) return at::mm(a, b, out);
#endif
  return at::mm(a, b).to(out);
}

// sum += a·b for a float32 `sum` (a weight gradient summed over chunks). On CUDA with libtorch 2.9+ and bf16/half
// operands the GEMM adds into `sum` itself (addmm's out_dtype overload, beta = 1): no float32 temporary and no
// separate add, which read the [V, d] gradient twice and wrote it once more per chunk. Elsewhere: mmAs, then add.
inline void addMmInto(at::Tensor& sum, const at::Tensor& a, const at::Tensor& b) {
#if MASKMIX_TORCH_AT_LEAST(2, 9) && !defined(MASKMIX_NO_MM_OUT_DTYPE)
  if (sum.scalar_type() == at::kFloat && gemmWritesFloat(a, b)) {
    at::addmm_out(sum, sum, a, b, at::kFloat);
    return;
  }
#endif
  sum.add_(mmAs(a, b, sum.scalar_type()));
}

// Whether CUDA autocast is on for the calling thread, and its dtype.
inline bool cudaAutocastEnabled() {
#if MASKMIX_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(at::kCUDA);
#else
  return at::autocast::is_enabled();
#endif
}

inline at::ScalarType cudaAutocastDtype() {
#if MASKMIX_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(at::kCUDA);
#else
  return at::autocast::get_autocast_gpu_dtype();
#endif
}

// Turns CUDA autocast on with `dtype` for this thread's lifetime of the guard, and drops the cast-weight cache
// on exit (autocast caches the low-precision copies of weights until told otherwise).
class CudaAutocast {
 public:
  CudaAutocast(bool enabled, at::ScalarType dtype) : enabled_(enabled) {
    if (!enabled_) return;
#if MASKMIX_TORCH_AT_LEAST(2, 4)
    previous_ = at::autocast::is_autocast_enabled(at::kCUDA);
    previousDtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, dtype);
#else
    previous_ = at::autocast::is_enabled();
    previousDtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(dtype);
#endif
    at::autocast::increment_nesting();
  }
  ~CudaAutocast() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if MASKMIX_TORCH_AT_LEAST(2, 4)
    at::autocast::set_autocast_enabled(at::kCUDA, previous_);
    at::autocast::set_autocast_dtype(at::kCUDA, previousDtype_);
#else
    at::autocast::set_enabled(previous_);
    at::autocast::set_autocast_gpu_dtype(previousDtype_);
#endif
  }
  CudaAutocast(const CudaAutocast&) = delete;
  CudaAutocast& operator=(const CudaAutocast&) = delete;

 private:
  bool enabled_;
  bool previous_ = false;
  at::ScalarType previousDtype_ = at::kFloat;
};

// The dtype a custom op should compute in for tensors on `device`: the autocast dtype when CUDA autocast is on,
// else the tensors' own.
inline c10::optional<at::ScalarType> autocastDtypeFor(const at::Tensor& t) {
  if (t.is_cuda() && at::isFloatingType(t.scalar_type()) && cudaAutocastEnabled()) return cudaAutocastDtype();
  return c10::nullopt;
}

// The dtype products of `t` run in: the autocast dtype when CUDA autocast is on, else t's own.
inline at::ScalarType computeDtypeFor(const at::Tensor& t) { return autocastDtypeFor(t).value_or(t.scalar_type()); }

}  // namespace maskmix::compat
