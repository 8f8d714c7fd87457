#!/usr/bin/env bash
# Compiles the CUDA-only branches of the addon's C++ sources (#ifdef MASKMIX_WITH_CUDA) for syntax and types on a
# machine without a GPU build of libtorch: against the CPU libtorch's headers (Debian's 1.13 has ATen/cuda and
# c10/cuda) and a CUDA toolkit's headers, with small stand-ins for the cuBLAS/cuSPARSE/cuSOLVER headers those
# include. It checks nothing under MASKMIX_TORCH_AT_LEAST(2, …), nor the .cu kernels (for those:
# nvcc -std=c++17 -arch=sm_90 -cubin -Inative -DMASKMIX_WITH_CUDA=1 FILE.cu), and it is no substitute for the
# GPU build (scripts/device/gpu-run.sh build): it catches typos before spending device time.
# Usage: bash scripts/dev/check-cuda-syntax.sh [files…]   (default: every native .cpp that mentions MASKMIX_WITH_CUDA)
# CUDA_HOME (default /usr/local/cuda, else the newest /usr/local/cuda-*) must hold include/cuda_runtime.h.
set -uo pipefail
cd "$(dirname "$0")/../.."
cuda=${CUDA_HOME:-}
[ -z "$cuda" ] && for c in /usr/local/cuda $(ls -d /usr/local/cuda-* 2>/dev/null | sort -V -r); do [ -f "$c/include/cuda_runtime.h" ] && cuda=$c && break; done
[ -f "$cuda/include/cuda_runtime.h" ] || { echo "no CUDA toolkit headers found (set CUDA_HOME)"; exit 2; }
stubs=$(mktemp -d)
trap 'rm -rf "$stubs"' EXIT
mkdir -p "$stubs/c10/cuda/impl"
echo '#pragma once' > "$stubs/c10/cuda/impl/cuda_cmake_macros.h"
printf '#pragma once\ntypedef struct cusparseContext* cusparseHandle_t;\ntypedef enum { CUSPARSE_STATUS_SUCCESS = 0 } cusparseStatus_t;\n' > "$stubs/cusparse.h"
printf '#pragma once\n#include <cuda_runtime.h>\n#include <library_types.h>\ntypedef struct cublasContext* cublasHandle_t;\ntypedef enum { CUBLAS_STATUS_SUCCESS = 0 } cublasStatus_t;\n' > "$stubs/cublas_v2.h"
printf '#pragma once\ntypedef struct cublasLtContext* cublasLtHandle_t;\n' > "$stubs/cublasLt.h"
printf '#pragma once\ntypedef struct cusolverDnContext* cusolverDnHandle_t;\ntypedef enum { CUSOLVER_STATUS_SUCCESS = 0 } cusolverStatus_t;\n' > "$stubs/cusolverDn.h"
printf '#pragma once\n#include "cusolverDn.h"\n' > "$stubs/cusolver_common.h"
files=("$@")
[ ${#files[@]} -eq 0 ] && mapfile -t files < <(grep -rl "MASKMIX_WITH_CUDA" native --include=*.cpp | sort)
failed=0
for f in "${files[@]}"; do
  if out=$(g++ -std=c++17 -fsyntax-only -DMASKMIX_WITH_CUDA=1 -I"$stubs" -I"$cuda/include" -Inative -I/usr/include/torch/csrc/api/include \
    -I/usr/include/node -Inode_modules/node-addon-api "$f" 2>&1); then
    echo "ok    $f"
  else
    echo "FAIL  $f"; echo "$out" | grep -E "error" | head -5; failed=1
  fi
done
exit $failed
