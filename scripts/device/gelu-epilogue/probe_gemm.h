// The GEMMs the GELU-epilogue probe times (cutlass_gemms.cu), callable from the libtorch harness (probe.cpp)
// without either seeing the other's headers. All matrices bf16, row-major, accumulation in float32.
#pragma once
#include <cuda_runtime.h>

struct ProbeGemm {
  const void* a = nullptr;     // [m, k]
  const void* b = nullptr;     // forward: W1 [n, k] (the Linear weight); backward: W2 [k, n]
  const void* bias = nullptr;  // [n], forward kinds
  const void* auxIn = nullptr; // backward: the pre-activation h [m, n]
  void* auxOut = nullptr;      // forward with GELU: the pre-activation h [m, n] (what backward keeps)
  void* d = nullptr;           // [m, n]
  int m = 0, n = 0, k = 0;
};

// Each returns an empty string on success, else why it could not run. config: 0 cooperative 256x128,
// 1 cooperative 128x256, 2 ping-pong 128x128 (all with clusters of 1x2).
// d = a·bᵀ + bias
const char* probeBias(int config, const ProbeGemm& g, cudaStream_t stream);
// h = a·bᵀ + bias (into auxOut), d = GELU(h), the exact GELU (erf)
const char* probeBiasGelu(int config, const ProbeGemm& g, cudaStream_t stream);
// d = (a·b) ⊙ GELU′(h), h from auxIn, the exact derivative Φ(h) + h·φ(h)
const char* probeGeluGrad(int config, const ProbeGemm& g, cudaStream_t stream);
