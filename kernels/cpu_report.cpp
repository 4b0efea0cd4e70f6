#include "kernels/cpu_report.h"

#include <cblas.h>

#include "kernels/conv.h"
#include "kernels/cpu_blas.h"
#include "kernels/cpu_isa.h"

namespace anima::kernels {

std::string cpu_report() {
  const char* core = openblas_get_corename();
  return "CPU: " + std::to_string(cpu_max_threads()) + " threads, OpenBLAS " + (core ? core : "(unknown kernels)") +
         ", convolution " + cpu_conv_algo_name(cpu_conv_algo()) + ", OpenMP wait " + cpu_openmp_wait() +
         ", vector loops " + cpu_isa_name(cpu_isa()) +
         // nvcc compiles the .cu element loops once, at the baseline width (kernels/launch.h)
         (ANIMA_CUDA ? " (convolutions; the element loops of a CUDA build: baseline)" : "");
}

}  // namespace anima::kernels
