// How the CPU GEMMs share the cores with anima's OpenMP loops.
//
// Debian's default OpenBLAS is the pthread build: it keeps its own thread pool, which busy-waits
// (sched_yield) after each GEMM while libgomp's threads run the im2col / elementwise loops, and
// libgomp's threads spin while OpenBLAS runs. On the 2-core CI machine a small refined-mask
// training step spent over half its time in those spins (perf). So OpenBLAS runs on one thread,
// and the callers (conv2d, matmul) parallelise over independent GEMMs (images, groups, batch
// items) with OpenMP instead; bench/RESULTS.md has the before and after.
// OPENBLAS_NUM_THREADS, when set, is respected (the user asked for that pool).
#pragma once

#include <string>

namespace anima::kernels {

// Makes OpenBLAS single-threaded unless OPENBLAS_NUM_THREADS is set; idempotent and cheap.
void cpu_blas_single_thread();

// OpenBLAS picks its GEMM kernels from the CPU's family/model numbers. A virtual machine that
// reports a generic model (e.g. "Intel Xeon Processor" with AVX-512) gets the SSE3 "Prescott"
// kernels, about 1.9x slower on the demo's training step (bench/RESULTS.md). OpenBLAS reads its choice
// (OPENBLAS_CORETYPE) once, when the library loads, so a program that finds the generic kernels on
// a CPU with AVX2/AVX-512 sets OPENBLAS_CORETYPE and executes itself again. Call first in main();
// returns normally when nothing needs changing, when OPENBLAS_CORETYPE is set (the user's choice
// is kept: OPENBLAS_CORETYPE=Prescott turns this off), or when the re-exec fails.
void cpu_blas_select_kernels(char** argv);
// It also sets libgomp's wait at the end of a parallel region (GOMP_SPINCOUNT, read when libgomp
// loads, hence the same re-exec) to 20000 spins before sleeping, unless GOMP_SPINCOUNT or
// OMP_WAIT_POLICY is set. libgomp's default (300000, about a millisecond) lets a waiting thread
// burn the time slice of a thread that a second process has pushed off its core: a demo-size
// training step (fomm-shapes-64, batch 4, 2 threads) beside a busy loop took 2.45x its idle time,
// 2.0x with 20000; passive waiting (OMP_WAIT_POLICY=passive) took 1.6x but made small ops 2-4x
// slower idle (bench/RESULTS.md, "OpenMP wait").
// cpu_openmp_wait: "spin N", the wait policy, or "libgomp's default", for the run reports.
std::string cpu_openmp_wait();
// Whether OpenBLAS runs one of its generic kernel families (Prescott, Core2, Nehalem, Katmai), and
// the family this CPU could run instead ("SkylakeX", "Haswell"; null when none is better).
bool cpu_blas_kernels_generic();
const char* cpu_blas_best_kernels();
// Deterministic mode (--deterministic, train_params.deterministic): the same bits on every x86-64
// CPU with AVX2 and FMA, Intel or AMD, at any thread count. anima's own CPU loops already give
// them (fixed summation orders, no fused multiply-add, every SIMD width alike); OpenBLAS picks
// its GEMM kernels per CPU (SkylakeX, Haswell, Zen, ...), whose sums differ, so this mode pins
// its Haswell kernels (AVX2 + FMA, which every such CPU runs). OpenBLAS reads OPENBLAS_CORETYPE
// once, when it loads: cpu_blas_pin_deterministic re-executes the program (argv as given to
// cpu_blas_select_kernels, which calls it for a --deterministic argument) with it set, and throws
// when it cannot (no AVX2/FMA, or no argv: a test process).
void cpu_blas_pin_deterministic();
bool cpu_blas_deterministic_kernels();  // whether OpenBLAS runs the pinned kernels now

// C = alpha op(A) op(B) + beta C, row-major, as cblas_sgemm. Called outside a parallel region
// (a batch-1 convolution, one large matmul), a large GEMM runs on all the threads: each thread
// computes a block of C's columns (or rows, when C is narrow) with its own single-threaded GEMM,
// on anima's OpenMP threads rather than OpenBLAS's pool. Every element of C is the same dot
// product as one call computes it: with OpenBLAS's SkylakeX kernels the bits do not depend on
// the thread count (test). Its Haswell kernels (deterministic mode's, and AVX2 CPUs' default)
// round a split block differently, so with them a GEMM never splits: deterministic mode stays
// thread-count independent. Inside a parallel region (the callers' loops over images) it is one
// call.
void cpu_sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// OpenMP's team size for the next parallel region (1 without OpenMP), and this thread's index.
int cpu_max_threads();
int cpu_thread_index();

}  // namespace anima::kernels
