// The CPU BLAS setup (kernels/cpu_blas.h): OpenBLAS runs the best kernels this CPU has.

#include <cstdio>
#include <filesystem>

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

// anima_tests and anima start with libgomp's spin count set (cpu_blas.h), unless the user chose
// one or a wait policy, which `anima info` then reports as given.
TEST_CASE("OpenMP: the spin count anima sets, or the user's wait policy, is in effect and reported") {
  if (!std::getenv("GOMP_SPINCOUNT") && std::getenv("OMP_WAIT_POLICY")) {
    test::mark_skipped("OMP_WAIT_POLICY was set by the user");
    return;
  }
  REQUIRE(std::getenv("GOMP_SPINCOUNT") != nullptr);
  CHECK(kernels::cpu_report().find(std::string("OpenMP wait spin ") + std::getenv("GOMP_SPINCOUNT")) !=
        std::string::npos);
  std::string exe = std::filesystem::read_symlink("/proc/self/exe").parent_path().string() + "/anima";
  auto info = [&](const std::string& env) {
    std::string out;
    FILE* p = popen(("env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY " + env + " '" + exe + "' info 2>&1").c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    CHECK(pclose(p) == 0);
    return out;
  };
  CHECK(info("").find("OpenMP wait spin 20000") != std::string::npos);
  CHECK(info("OMP_WAIT_POLICY=passive").find("OpenMP wait passive") != std::string::npos);
  CHECK(info("GOMP_SPINCOUNT=7").find("OpenMP wait spin 7") != std::string::npos);
}

}  // TEST_SUITE
