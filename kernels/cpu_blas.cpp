#include "kernels/cpu_blas.h"

#include "tensor/error.h"

#include <cblas.h>

#include <strings.h>
#include <unistd.h>

#include <cstdlib>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace anima::kernels {

void cpu_blas_single_thread() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (!std::getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
  });
}

bool cpu_blas_kernels_generic() {
  const char* core = openblas_get_corename();
  return core && (strcasecmp(core, "prescott") == 0 || strcasecmp(core, "core2") == 0 ||
                  strcasecmp(core, "nehalem") == 0 || strcasecmp(core, "katmai") == 0);
}

const char* cpu_blas_best_kernels() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}

namespace {
char** g_argv = nullptr;
constexpr const char* kOpenMpSpinCount = "20000";
constexpr const char* kDeterministicKernels = "Haswell";
}  // namespace

bool cpu_blas_deterministic_kernels() {
  const char* core = openblas_get_corename();
  return core && strcasecmp(core, kDeterministicKernels) == 0;
}

void cpu_blas_pin_deterministic() {
  if (cpu_blas_deterministic_kernels()) return;
  __builtin_cpu_init();
  ANIMA_CHECK(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"),
              "deterministic mode: the same bits on every x86-64 CPU need AVX2 and FMA, which this CPU lacks");
  if (g_argv && !std::getenv("ANIMA_BLAS_PINNED")) {
    setenv("OPENBLAS_CORETYPE", kDeterministicKernels, 1);
    setenv("ANIMA_BLAS_PINNED", "1", 1);  // the new image does not try again
    execv("/proc/self/exe", g_argv);
  }
  const char* core = openblas_get_corename();
  ANIMA_FAIL("deterministic mode: OpenBLAS runs its ", core ? core : "unknown", " kernels; the same bits on every ",
             "x86-64 CPU need its ", kDeterministicKernels,
             " kernels: start with OPENBLAS_CORETYPE=", kDeterministicKernels);
}

namespace {
// Whether libgomp runs with the spin count anima sets (cpu_blas.h); set before the re-exec.
bool g_spin_set_here = false;

// Sets GOMP_SPINCOUNT unless the user chose a wait policy; true when the new value needs a re-exec.
bool choose_openmp_spin() {
  if (std::getenv("GOMP_SPINCOUNT") || std::getenv("OMP_WAIT_POLICY")) return false;
  setenv("GOMP_SPINCOUNT", kOpenMpSpinCount, 1);
  return true;
}
}  // namespace

std::string cpu_openmp_wait() {
  if (const char* s = std::getenv("GOMP_SPINCOUNT")) return std::string("spin ") + s;
  if (const char* p = std::getenv("OMP_WAIT_POLICY")) return p;
  return "libgomp's default";
}

void cpu_blas_select_kernels(char** argv) {
  g_argv = argv;
  g_spin_set_here = choose_openmp_spin();
  for (char** a = argv; a && *a; ++a)
    if (std::strcmp(*a, "--deterministic") == 0) {
      if (g_spin_set_here && cpu_blas_deterministic_kernels()) execv("/proc/self/exe", argv);
      return cpu_blas_pin_deterministic();
    }
  const char* better = nullptr;
  // OPENBLAS_CORETYPE set: the user's choice, or this re-exec's (which also stops a loop)
  if (!std::getenv("OPENBLAS_CORETYPE") && cpu_blas_kernels_generic()) better = cpu_blas_best_kernels();
  if (better) setenv("OPENBLAS_CORETYPE", better, 1);
  if (!better && !g_spin_set_here) return;
  execv("/proc/self/exe", argv);
  // the re-exec failed: carry on as loaded
  if (better) unsetenv("OPENBLAS_CORETYPE");
  if (g_spin_set_here) unsetenv("GOMP_SPINCOUNT");
}

namespace {
// Below this many multiply-adds a GEMM stays whole (a parallel region costs a few microseconds;
// OpenBLAS's small-matrix kernels, whose sums may be ordered otherwise, are for far smaller ones).
constexpr int64_t kSplitGemmMinWork = int64_t(1) << 24;
// Column (row) blocks are multiples of this: whole cache lines of C, whole kernel tiles.
constexpr int64_t kSplitAlign = 16;

void sgemm_call(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K),
              alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
}
}  // namespace

void cpu_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  cpu_blas_single_thread();
  // OpenBLAS's Haswell kernels (deterministic mode's) round a block of C differently from the
  // whole (measured: test "conv2d: a batch-1 im2col GEMM split ..."), so they never split.
  static const bool split_keeps_bits = !cpu_blas_deterministic_kernels();
  int64_t threads = 1;
#ifdef _OPENMP
  if (split_keeps_bits && !omp_in_parallel() && M * N * K >= kSplitGemmMinWork) threads = omp_get_max_threads();
#endif
  bool by_columns = N >= 2 * kSplitAlign * threads;
  bool by_rows = !by_columns && M >= 2 * kSplitAlign * threads;
  if (threads < 2 || (!by_columns && !by_rows)) return sgemm_call(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  int64_t extent = by_columns ? N : M;
  int64_t block = (extent / threads + kSplitAlign - 1) / kSplitAlign * kSplitAlign;
  int64_t blocks = (extent + block - 1) / block;
#pragma omp parallel for schedule(static) num_threads(int(blocks))
  for (int64_t b = 0; b < blocks; ++b) {
    int64_t lo = b * block, n = std::min(block, extent - lo);
    if (by_columns)  // columns lo.. of op(B) and C
      sgemm_call(ta, tb, M, n, K, alpha, A, lda, tb ? B + lo * ldb : B + lo, ldb, beta, C + lo, ldc);
    else  // rows lo.. of op(A) and C
      sgemm_call(ta, tb, n, N, K, alpha, ta ? A + lo : A + lo * lda, lda, B, ldb, beta, C + lo * ldc, ldc);
  }
}

int cpu_max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

int cpu_thread_index() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

}  // namespace anima::kernels
