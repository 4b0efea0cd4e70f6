// The CPU BLAS setup (kernels/cpu_blas.h): OpenBLAS runs the best kernels this CPU has.

#include "kernels/cpu_blas.h"
#include "kernels/cpu_report.h"
#include "tests/parity.h"
#include "tests/test_util.h"

using namespace anima;

TEST_SUITE("kernels") {

// anima_tests calls cpu_blas_select_kernels first (as anima does): on a CPU with AVX2/AVX-512,
// OpenBLAS must not be left on its generic kernels, unless the user chose them.
TEST_CASE("matmul: OpenBLAS runs the best kernels this CPU has") {
  std::string report = kernels::cpu_report();
  CHECK(report.find("OpenBLAS") != std::string::npos);
  const char* chosen = std::getenv("OPENBLAS_CORETYPE");
  const char* best = kernels::cpu_blas_best_kernels();
  if (chosen && (!best || std::string(chosen) != best)) {
    test::mark_skipped("OPENBLAS_CORETYPE=" + std::string(chosen) + " was set by the user");
    return;
  }
  INFO(report);
  if (best) CHECK_FALSE(kernels::cpu_blas_kernels_generic());
}

}  // TEST_SUITE
