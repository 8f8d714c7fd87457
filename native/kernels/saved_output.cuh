// The normalised row x̂ recovered from a norm's saved output, for backward kernels that keep y (the compute-dtype
// tensor the next product reads anyway) instead of the float32 input: LayerNorm's y = x̂·γ + β, RMSNorm's y = x̂·γ.
#pragma once

#include <cuda_runtime.h>

namespace maskmix::kernels {

// |γ| is floored here (sign kept) so a γ at zero cannot divide by zero. There x̂ is not recoverable from y, the one
// case where keeping the output loses information (γ = 0 exactly is not reached by training from γ = 1 in practice).
constexpr float kMinGammaMagnitude = 1e-6f;

// (y − β)/γ for one element; β = 0 for RMSNorm.
__device__ __forceinline__ float unnormaliseOutput(float y, float beta, float gamma) {
  return __fdividef(y - beta, copysignf(fmaxf(fabsf(gamma), kMinGammaMagnitude), gamma));
}

}  // namespace maskmix::kernels
