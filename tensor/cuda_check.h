// Checked calls into the CUDA runtime. Every call reports file:line and the runtime's message.
// Only included where ANIMA_CUDA is 1.
#pragma once
#include <cuda_runtime.h>

#include "tensor/error.h"

#define ANIMA_CUDA_CHECK(expr)                                                                                     \
  do {                                                                                                             \
    cudaError_t anima_err_ = (expr);                                                                               \
    if (anima_err_ != cudaSuccess)                                                                                 \
      ::anima::detail::fail(__FILE__, __LINE__, "CUDA error in ", #expr, ": ", cudaGetErrorName(anima_err_), " (", \
                            cudaGetErrorString(anima_err_), ")");                                                  \
  } while (0)

// After a kernel launch: reports bad launch configurations at once, naming the kernel (does not
// synchronise, so a fault inside the kernel surfaces at the next synchronising call).
#define ANIMA_CUDA_CHECK_LAUNCH(name)                                                                                \
  do {                                                                                                               \
    cudaError_t anima_err_ = cudaGetLastError();                                                                     \
    if (anima_err_ != cudaSuccess)                                                                                   \
      ::anima::detail::fail(__FILE__, __LINE__, "CUDA error launching ", (name), ": ", cudaGetErrorName(anima_err_), \
                            " (", cudaGetErrorString(anima_err_), ")");                                              \
  } while (0)
