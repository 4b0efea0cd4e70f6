// CUDA-vs-CPU parity, shared by the kernel test files: every op with a CUDA path runs on both
// devices from the same inputs, and the outputs and the input gradients (through a fixed random
// projection) must agree within the stated tolerance |gpu - cpu| <= atol + rtol * |cpu|.
//
// A PARITY line registers a case and makes it a test case "CUDA-vs-CPU parity: NAME [cuda]" that
// needs a GPU (skipped without one). Each op's PARITY lines stand in its family's test file
// (tests/kernels/test_<family>.cpp) beside its value tests and gradchecks; the harness test in
// tests/parity.cpp runs every registered case CPU against CPU, so the cases are exercised in CI.
#pragma once
#include <functional>
#include <vector>

#include "kernels/math_mode.h"
#include "tests/test_util.h"

namespace anima::test {

struct ParityCase {
  const char* name;
  double atol, rtol;
  std::function<std::vector<Tensor>()> inputs;  // on the CPU; float32 inputs get gradients
  std::function<Tensor(const std::vector<Tensor>&)> fn;
};

std::vector<ParityCase>& parity_registry();
bool register_parity_case(ParityCase c);
const ParityCase& find_parity_case(const char* name);
// Runs the case on the CPU and on `other`, in strict FP32, and compares outputs and gradients.
void check_parity(const ParityCase& c, Device other);

// Strict FP32 for the scope (TF32 convolutions are tested on their own, with the tolerance TF32's
// 10-bit mantissa implies).
struct StrictFp32 {
  bool previous = allow_tf32();
  StrictFp32() { set_allow_tf32(false); }
  ~StrictFp32() { set_allow_tf32(previous); }
};

}  // namespace anima::test

#define ANIMA_PARITY_CAT2(a, b) a##b
#define ANIMA_PARITY_CAT(a, b) ANIMA_PARITY_CAT2(a, b)
#define PARITY(NAME, ATOL, RTOL, INPUTS, FN)                                                            \
  static const bool ANIMA_PARITY_CAT(parity_registered_, __LINE__) =                                    \
      ::anima::test::register_parity_case({NAME, ATOL, RTOL, [] { return std::vector<Tensor> INPUTS; }, \
                                           [](const std::vector<Tensor>& x) -> Tensor { return FN; }}); \
  TEST_CASE("CUDA-vs-CPU parity: " NAME " [cuda]") {                                                    \
    REQUIRE_CUDA_OR_SKIP();                                                                             \
    ::anima::test::check_parity(::anima::test::find_parity_case(NAME), Device::cuda());                 \
  }
