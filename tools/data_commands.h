// `anima make-dataset` and `anima bench data`.
#pragma once
#include <string>

#include "data/synthetic.h"

namespace anima::tools {

int make_dataset(const std::string& out, const SyntheticOptions& options);

struct BenchDataOptions {
  std::string data;
  int64_t size = 64;  // frame size
  int64_t batch = 16;
  int workers = 2;
  int64_t batches = 20;
};
int bench_data(const BenchDataOptions& options);

}  // namespace anima::tools
