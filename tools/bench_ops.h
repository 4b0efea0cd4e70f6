// `anima bench ops`: times the framework's ops (forward, and forward+backward where they are
// differentiable) on the CPU and, when present, the GPU.
#pragma once
#include <string>

namespace anima::tools {

struct BenchOptions {
  std::string device = "all";  // cpu, cuda or all
  int batch = 0;               // 0: 16 on the GPU, 2 on the CPU
  int repeats = 10;
  std::string filter;          // only ops whose name contains this
};

int bench_ops(const BenchOptions& options);

}  // namespace anima::tools
