// The two launchers of the single-source pattern (DESIGN.md "Kernels: one body, two launchers").
//
//   parallel_for(device, n, [=] ANIMA_HD (int64_t i) { out[i] = f(in[i]); });
//
// runs the same element body in an OpenMP loop on the CPU, or in a grid-stride CUDA kernel when
// `device` is a GPU. The body must capture by value only plain pointers and scalars.
// A file that calls parallel_for with a CUDA device must be a .cu file (compiled by nvcc when
// CUDA=1, by g++ as C++ when CUDA=0).
#pragma once
#include <cstdint>

#include "kernels/cpu_isa.h"
#include "tensor/device.h"
#include "tensor/error.h"
#include "tensor/hd.h"
#include "tensor/runtime.h"

#if ANIMA_CUDA && defined(__CUDACC__)
#include "tensor/cuda_check.h"
#endif

namespace anima::kernels {

// Below this many elements the CPU loop stays on one thread (thread start-up costs more).
constexpr int64_t kOmpMinWork = 1 << 15;

// Written after a loop body lambda's parameters: inline it into each vector version of the loop.
// GCC leaves a large lambda out of line, and out of line it is compiled once, for plain x86-64
// (amax over C ran 4-lane SSE code inside the AVX-512 loop).
#if ANIMA_ISA_DISPATCH
#define ANIMA_LOOP_BODY __attribute__((always_inline))
#else
#define ANIMA_LOOP_BODY
#endif

// Each loop is compiled for AVX-512, AVX2 and plain x86-64, and runs the widest the CPU has (or
// the cap of kernels/cpu_isa.h); the versions give the same bits. nvcc's host compilation gets
// one version: there a __host__ __device__ lambda reaches the loop behind a type-erased wrapper
// that no version could vectorise.
// clang-format off
#define ANIMA_CPU_LOOPS(ATTR, SUFFIX)                                                            \
  template <class Body>                                                                          \
  ATTR void cpu_for##SUFFIX(int64_t n, Body body) {                                              \
    _Pragma("omp parallel for schedule(static) if (n >= kOmpMinWork)")                           \
    for (int64_t i = 0; i < n; ++i) body(i);                                                     \
  }                                                                                              \
  template <class Body>                                                                          \
  ATTR void cpu_for_rows##SUFFIX(int64_t rows, int64_t row_len, Body body) {                     \
    _Pragma("omp parallel for schedule(static) if (rows > 1 && rows * row_len >= kOmpMinWork)")  \
    for (int64_t r = 0; r < rows; ++r) body(r);                                                  \
  }
// clang-format on

namespace detail {
ANIMA_CPU_LOOPS(, _baseline)
#if ANIMA_ISA_DISPATCH
ANIMA_CPU_LOOPS(ANIMA_TARGET_AVX2, _avx2)
ANIMA_CPU_LOOPS(ANIMA_TARGET_AVX512, _avx512)
#endif
}  // namespace detail
#undef ANIMA_CPU_LOOPS

// body(i) for i in [0, n); threads split the range when it is large enough.
template <class Body>
void cpu_for(int64_t n, Body body) {
#if ANIMA_ISA_DISPATCH
  switch (cpu_isa()) {
    case CpuIsa::Avx512:
      return detail::cpu_for_avx512(n, body);
    case CpuIsa::Avx2:
      return detail::cpu_for_avx2(n, body);
    default:
      break;
  }
#endif
  detail::cpu_for_baseline(n, body);
}

// The CPU paths that walk whole rows (one division per row instead of one per element): body(r)
// for r in [0, rows), threads split the rows when there is enough work in all of them together.
template <class Body>
void cpu_for_rows(int64_t rows, int64_t row_len, Body body) {
#if ANIMA_ISA_DISPATCH
  switch (cpu_isa()) {
    case CpuIsa::Avx512:
      return detail::cpu_for_rows_avx512(rows, row_len, body);
    case CpuIsa::Avx2:
      return detail::cpu_for_rows_avx2(rows, row_len, body);
    default:
      break;
  }
#endif
  detail::cpu_for_rows_baseline(rows, row_len, body);
}

#if ANIMA_CUDA && defined(__CUDACC__)
template <class Body>
__global__ void grid_stride_kernel(int64_t n, Body body) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) body(i);
}

constexpr int kThreadsPerBlock = 256;

inline unsigned grid_size_for(int64_t n, int threads = kThreadsPerBlock) {
  int64_t blocks = (n + threads - 1) / threads;
  const int64_t kMaxBlocks = 65535LL * 32;  // enough to fill any current GPU many times
  return unsigned(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

template <class Body>
void cuda_for(int64_t n, Body body) {
  if (n == 0) return;
  grid_stride_kernel<<<grid_size_for(n), kThreadsPerBlock>>>(n, body);
  ANIMA_CUDA_CHECK_LAUNCH("grid_stride_kernel");
}
#endif

template <class Body>
void parallel_for(Device device, int64_t n, Body body) {
  if (device.is_cpu()) {
    cpu_for(n, body);
    return;
  }
#if ANIMA_CUDA && defined(__CUDACC__)
  cuda_for(n, body);
#else
  ANIMA_FAIL("parallel_for: a CUDA tensor reached a kernel compiled without CUDA (", cuda_status(), ")");
#endif
}

}  // namespace anima::kernels
