#include "kernels/cpu_isa.h"

#include <atomic>
#include <cstdlib>

#include "tensor/error.h"

namespace anima::kernels {

namespace {

constexpr int kUnset = -1;
std::atomic<int> g_isa{kUnset};

CpuIsa detect() {
#if defined(__GNUC__) && defined(__x86_64__)
  __builtin_cpu_init();
  // libgcc's checks include the operating system's support (XCR0) for the wider registers.
  if (__builtin_cpu_supports("avx512f")) return CpuIsa::Avx512;
  if (__builtin_cpu_supports("avx2")) return CpuIsa::Avx2;
#endif
  return CpuIsa::Baseline;
}

CpuIsa lower(CpuIsa a, CpuIsa b) { return int(a) < int(b) ? a : b; }

}  // namespace

CpuIsa cpu_isa_supported() {
  static const CpuIsa supported = detect();
  return supported;
}

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Avx512:
      return "avx512";
    case CpuIsa::Avx2:
      return "avx2";
    case CpuIsa::Baseline:
      return "baseline";
  }
  return "?";
}

namespace {
bool find_isa(const std::string& name, CpuIsa* out) {
  for (CpuIsa isa : {CpuIsa::Avx512, CpuIsa::Avx2, CpuIsa::Baseline})
    if (name == cpu_isa_name(isa)) return *out = isa, true;
  return false;
}
}  // namespace

CpuIsa parse_cpu_isa(const std::string& name) {
  CpuIsa isa;
  ANIMA_CHECK(find_isa(name, &isa), "CPU vector instructions: unknown choice '", printable(name),
              "'; choose avx512, avx2 or baseline");
  return isa;
}

CpuIsa cpu_isa() {
  int v = g_isa.load(std::memory_order_relaxed);
  if (v != kUnset) return CpuIsa(v);
  CpuIsa isa = cpu_isa_supported();
  if (const char* env = std::getenv("ANIMA_CPU_ISA"); env && *env) {
    CpuIsa asked;
    ANIMA_CHECK(find_isa(env, &asked), "ANIMA_CPU_ISA='", printable(env),
                "' is not a choice: avx512, avx2 or baseline");
    isa = lower(isa, asked);
  }
  int expected = kUnset;
  g_isa.compare_exchange_strong(expected, int(isa));  // a concurrent first call found the same
  return CpuIsa(g_isa.load());
}

CpuIsa set_cpu_isa(CpuIsa isa) {
  CpuIsa before = cpu_isa();
  g_isa.store(int(lower(isa, cpu_isa_supported())));
  return before;
}

}  // namespace anima::kernels
