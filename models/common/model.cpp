#include "models/common/model.h"

#include <cstdio>

namespace anima {

void print_module_summary(const char* name, const Module& m, bool all) {
  std::printf("%s: %lld parameters\n", name, (long long)m.parameter_count());
  if (!all) return;
  for (const auto& [n, t] : m.state_dict())
    std::printf("  %-70s %-20s %s\n", n.c_str(), t.shape().str().c_str(), dtype_name(t.dtype()));
}

}  // namespace anima
