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

namespace anima::kernels {

// Makes OpenBLAS single-threaded unless OPENBLAS_NUM_THREADS is set; idempotent and cheap.
void cpu_blas_single_thread();
// OpenMP's team size for the next parallel region (1 without OpenMP), and this thread's index.
int cpu_max_threads();
int cpu_thread_index();

}  // namespace anima::kernels
