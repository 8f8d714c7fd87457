// CUTLASS 3 Hopper GEMMs (TMA, warp-specialised wgmma) with the feed-forward's GELU in the epilogue, for the probe
// only (run.sh). Compiled three times, -DPROBE_KIND=0|1|2, one entry point of probe_gemm.h each, so the builds run
// in parallel. CUTLASS's own GELU epilogue functor is the exact one (erf); its dGELU is the tanh approximation, so
// the backward uses ExactGeluGrad below.
#include "probe_gemm.h"

#include <cmath>
#include <string>

#include "cute/tensor.hpp"
#include "cutlass/cutlass.h"
#include "cutlass/epilogue/collective/collective_builder.hpp"
#include "cutlass/epilogue/fusion/operations.hpp"
#include "cutlass/epilogue/thread/activation.h"
#include "cutlass/gemm/collective/collective_builder.hpp"
#include "cutlass/gemm/device/gemm_universal_adapter.h"
#include "cutlass/gemm/kernel/gemm_universal.hpp"
#include "cutlass/util/packed_stride.hpp"

using namespace cute;
using Bf16 = cutlass::bfloat16_t;

// GELU′(z)·dy with GELU(z) = z·Φ(z): Φ(z) + z·φ(z), in float. The epilogue calls it on fragments (Array).
template <typename T>
struct ExactGeluGrad {
  CUTLASS_HOST_DEVICE T operator()(T const& dy, T const& z) const {
    const float x = static_cast<float>(z);
    const float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
    const float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
    return T(static_cast<float>(dy) * (cdf + x * pdf));
  }
};
template <typename T, int N>
struct ExactGeluGrad<cutlass::Array<T, N>> {
  CUTLASS_HOST_DEVICE cutlass::Array<T, N> operator()(cutlass::Array<T, N> const& dy, cutlass::Array<T, N> const& z) const {
    cutlass::Array<T, N> out;
    ExactGeluGrad<T> one;
    CUTLASS_PRAGMA_UNROLL
    for (int i = 0; i < N; ++i) out[i] = one(dy[i], z[i]);
    return out;
  }
};

template <class Tile, class Cluster, class MainSchedule, class EpiSchedule, class LayoutB, class Fusion>
struct Kernel {
  static constexpr int kAlign = 8;  // 16 bytes of bf16
  using Epilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, Tile, Cluster, cutlass::epilogue::collective::EpilogueTileAuto,
      float, float, void, cutlass::layout::RowMajor, kAlign, Bf16, cutlass::layout::RowMajor, kAlign, EpiSchedule,
      Fusion>::CollectiveOp;
  using Mainloop = typename cutlass::gemm::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, Bf16, cutlass::layout::RowMajor, kAlign, Bf16, LayoutB, kAlign,
      float, Tile, Cluster,
      cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(sizeof(typename Epilogue::SharedStorage))>,
      MainSchedule>::CollectiveOp;
  using Gemm = cutlass::gemm::device::GemmUniversalAdapter<
      cutlass::gemm::kernel::GemmUniversal<Shape<int, int, int, int>, Mainloop, Epilogue>>;
};

// One workspace for every call (the persistent scheduler's), grown when a call needs more.
static void* workspace(size_t bytes) {
  static void* buffer = nullptr;
  static size_t size = 0;
  if (bytes > size) {
    if (buffer != nullptr) cudaFree(buffer);
    buffer = nullptr;
    size = 0;
    if (cudaMalloc(&buffer, bytes) != cudaSuccess) return nullptr;
    size = bytes;
  }
  return buffer;
}

template <class K, class SetEpilogue>
const char* run(const ProbeGemm& g, cudaStream_t stream, SetEpilogue setEpilogue) {
  using Gemm = typename K::Gemm;
  using GemmKernel = typename Gemm::GemmKernel;
  auto strideA = cutlass::make_cute_packed_stride(typename GemmKernel::StrideA{}, make_shape(g.m, g.k, 1));
  auto strideB = cutlass::make_cute_packed_stride(typename GemmKernel::StrideB{}, make_shape(g.n, g.k, 1));
  auto strideC = cutlass::make_cute_packed_stride(typename GemmKernel::StrideC{}, make_shape(g.m, g.n, 1));
  auto strideD = cutlass::make_cute_packed_stride(typename GemmKernel::StrideD{}, make_shape(g.m, g.n, 1));
  typename Gemm::Arguments args{cutlass::gemm::GemmUniversalMode::kGemm,
                                {g.m, g.n, g.k, 1},
                                {static_cast<const Bf16*>(g.a), strideA, static_cast<const Bf16*>(g.b), strideB},
                                {{}, nullptr, strideC, static_cast<Bf16*>(g.d), strideD}};
  setEpilogue(args.epilogue.thread, g);
  Gemm gemm;
  if (gemm.can_implement(args) != cutlass::Status::kSuccess) return "can_implement refused the shape";
  void* ws = workspace(Gemm::get_workspace_size(args) + 1);
  if (ws == nullptr) return "workspace allocation failed";
  if (gemm.initialize(args, ws, stream) != cutlass::Status::kSuccess) return "initialize failed";
  if (gemm.run(stream) != cutlass::Status::kSuccess) return "run failed";
  return cudaGetLastError() == cudaSuccess ? "" : "launch error";
}

using Cooperative = cutlass::gemm::KernelTmaWarpSpecializedCooperative;
using CooperativeEpi = cutlass::epilogue::TmaWarpSpecializedCooperative;
using Pingpong = cutlass::gemm::KernelTmaWarpSpecializedPingpong;
using PingpongEpi = cutlass::epilogue::TmaWarpSpecialized;
using Cluster12 = Shape<_1, _2, _1>;

// The three launch configurations, for one fusion and one layout of b.
template <class LayoutB, class Fusion, class SetEpilogue>
const char* dispatch(int config, const ProbeGemm& g, cudaStream_t stream, SetEpilogue set) {
  switch (config) {
    case 0: return run<Kernel<Shape<_256, _128, _64>, Cluster12, Cooperative, CooperativeEpi, LayoutB, Fusion>>(g, stream, set);
    case 1: return run<Kernel<Shape<_128, _256, _64>, Cluster12, Cooperative, CooperativeEpi, LayoutB, Fusion>>(g, stream, set);
    case 2: return run<Kernel<Shape<_128, _128, _64>, Cluster12, Pingpong, PingpongEpi, LayoutB, Fusion>>(g, stream, set);
    default: return "no such config";
  }
}

// Forward: b is the Linear weight [n, k] row-major, i.e. the k×n operand column-major.
using WeightLayout = cutlass::layout::ColumnMajor;
// Backward: b is W2 [k, n] row-major.
using GradLayout = cutlass::layout::RowMajor;

#if PROBE_KIND == 0
const char* probeBias(int config, const ProbeGemm& g, cudaStream_t stream) {
  using Fusion = cutlass::epilogue::fusion::LinCombPerColBias<Bf16, float, Bf16, Bf16>;
  return dispatch<WeightLayout, Fusion>(config, g, stream, [](auto& t, const ProbeGemm& p) {
    t.bias_ptr = static_cast<const Bf16*>(p.bias);
  });
}
#elif PROBE_KIND == 1
const char* probeBiasGelu(int config, const ProbeGemm& g, cudaStream_t stream) {
  using Fusion = cutlass::epilogue::fusion::LinCombPerColBiasEltActAux<cutlass::layout::RowMajor, cutlass::epilogue::thread::GELU,
                                                                        Bf16, float, Bf16, Bf16, Bf16>;
  return dispatch<WeightLayout, Fusion>(config, g, stream, [](auto& t, const ProbeGemm& p) {
    t.bias_ptr = static_cast<const Bf16*>(p.bias);
    t.aux_ptr = static_cast<Bf16*>(p.auxOut);
    t.dAux = cutlass::make_cute_packed_stride(decltype(t.dAux){}, make_shape(p.m, p.n, 1));
  });
}
#else
const char* probeGeluGrad(int config, const ProbeGemm& g, cudaStream_t stream) {
  using Fusion = cutlass::epilogue::fusion::LinCombDeEltAct<cutlass::layout::RowMajor, ExactGeluGrad, Bf16, float, Bf16, Bf16>;
  return dispatch<GradLayout, Fusion>(config, g, stream, [](auto& t, const ProbeGemm& p) {
    t.aux_ptr = static_cast<const Bf16*>(p.auxIn);
    t.dAux = cutlass::make_cute_packed_stride(decltype(t.dAux){}, make_shape(p.m, p.n, 1));
  });
}
#endif
