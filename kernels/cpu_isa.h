// Which vector instructions anima's own CPU loops run: the element loops of kernels/launch.h,
// the direct and tiled convolution rows (kernels/conv.cpp) and Winograd's transforms
// (kernels/conv_winograd.cpp). Each such loop is compiled three times, for AVX-512, AVX2 and plain
// x86-64 (SSE2), and runs the widest version the CPU has, unless the ANIMA_CPU_ISA environment
// variable ("avx512", "avx2" or "baseline") or set_cpu_isa caps it lower. The rest of anima is
// built for plain x86-64.
//
// Every version gives the same bits: each element's arithmetic is the same sequence of IEEE
// operations at every width (no fused multiply-add: -ffp-contract=off; no reassociated sums: GCC
// vectorises a float sum only when told to, and none of these loops is). A test runs the ops and
// deterministic training under each version this CPU has and compares the bits.
//
// OpenBLAS chooses its own kernels (kernels/cpu_blas.h); this does not touch them.
#pragma once
#include <string>

namespace anima::kernels {

enum class CpuIsa { Baseline = 0, Avx2 = 1, Avx512 = 2 };

// The widest this CPU (and its operating system) runs.
CpuIsa cpu_isa_supported();
// The one in use: cpu_isa_supported() capped by ANIMA_CPU_ISA, then by set_cpu_isa. An unknown
// ANIMA_CPU_ISA throws (on the first call) naming the choices.
CpuIsa cpu_isa();
// Caps the version in use for the whole process (tests, benchmarks); a cap above what the CPU
// runs gives what it runs. Returns the one in use before.
CpuIsa set_cpu_isa(CpuIsa isa);
// "avx512", "avx2", "baseline"
const char* cpu_isa_name(CpuIsa isa);
// The version of one of those names; throws naming the choices for any other.
CpuIsa parse_cpu_isa(const std::string& name);

}  // namespace anima::kernels

// Three versions of a function and a dispatcher, for a body `NAME##_body` that must be declared
// ANIMA_ISA_BODY (always inlined, so that each version compiles it for its own instructions).
//   ANIMA_ISA_BODY void scale_body(float* x, int n) { for (...) x[i] *= 2; }
//   ANIMA_ISA_VERSIONS(scale, (float* x, int n), (x, n))
// defines `void scale(float* x, int n)`. Only for code compiled by g++ (the host side of nvcc
// and clang get the body alone).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__CUDACC__)
#define ANIMA_ISA_DISPATCH 1
#define ANIMA_TARGET_AVX512 __attribute__((target("avx512f")))
#define ANIMA_TARGET_AVX2 __attribute__((target("avx2")))
#define ANIMA_ISA_BODY [[gnu::always_inline]] inline
#define ANIMA_ISA_VERSIONS(NAME, PARAMS, ARGS)                        \
  ANIMA_TARGET_AVX512 void NAME##_avx512 PARAMS { NAME##_body ARGS; } \
  ANIMA_TARGET_AVX2 void NAME##_avx2 PARAMS { NAME##_body ARGS; }     \
  void NAME PARAMS {                                                  \
    switch (::anima::kernels::cpu_isa()) {                            \
      case ::anima::kernels::CpuIsa::Avx512:                          \
        return NAME##_avx512 ARGS;                                    \
      case ::anima::kernels::CpuIsa::Avx2:                            \
        return NAME##_avx2 ARGS;                                      \
      default:                                                        \
        return NAME##_body ARGS;                                      \
    }                                                                 \
  }
#else
#define ANIMA_ISA_DISPATCH 0
#define ANIMA_ISA_BODY inline
#define ANIMA_ISA_VERSIONS(NAME, PARAMS, ARGS) \
  void NAME PARAMS { NAME##_body ARGS; }
#endif
