// Helpers shared by the test suites: tolerance comparisons that print the worst element,
// GPU-or-skip, and small tensor makers.
#pragma once
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <functional>

#include "autograd/gradcheck.h"
#include "formats/safetensors.h"
#include "tensor/runtime.h"
#include "tensor/tensor.h"

namespace anima::test {

// Marks the running test case as skipped (counted as such in the closing line).
void mark_skipped(const std::string& reason);

// True when a GPU is usable. Otherwise the test is marked skipped, or, under
// ANIMA_REQUIRE_GPU=1 (make test-gpu), fails.
bool cuda_or_skip();

// True when this build reads and writes video files (FFmpeg). Otherwise (make VIDEO=0, the
// GPU-check bundle) the test is marked skipped.
bool video_or_skip();

// |actual - expected| <= atol + rtol * |expected| for every element (same shape required).
// On failure, reports the first few mismatches and the worst one.
bool allclose(const Tensor& actual, const Tensor& expected, double atol, double rtol, std::string* report = nullptr);

// Bitwise equality of two float32 tensors (shape too).
bool bit_equal(const Tensor& a, const Tensor& b);

Tensor tensor(const std::vector<float>& values, const Shape& shape, Device device = Device::cpu());
// Deterministic test data: uniform in [lo, hi) from a Philox stream.
Tensor random_tensor(const Shape& shape, uint64_t seed, float lo = -1.f, float hi = 1.f, Device device = Device::cpu());

// Gradcheck of f at `inputs` (each made to require grad): checks that something was compared
// and that it matched, printing gradcheck's report on a mismatch.
void expect_gradients_match(const GradcheckFn& f, std::vector<Tensor> inputs, GradcheckOptions options = {});
// Uniform data kept at least 0.1 away from 0 (the kink of relu, abs, ...).
Tensor away_from_zero(const Shape& shape, uint64_t seed);

// A training batch of two synthetic puppet videos (render_puppet_video(seed, 0 and 1, ...)) at
// size x size: sources are frame 0, drivings frame `driving_frame` (< 8). [2, 3, size, size] each.
std::pair<Tensor, Tensor> puppet_batch(uint64_t seed, int64_t size, int driving_frame);

// Path of a file of the source tree (configs/x.yaml): under $ANIMA_SOURCE_DIR when that is set,
// else under the checkout the tests were built in.
std::string source_path(const std::string& relative);
// Path of a committed golden file (tests/golden/NAME).
std::string golden_path(const std::string& name);
// A golden file, loaded once.
const SafetensorsFile& golden(const std::string& name);
// Runs `fn` on leaf copies of the golden inputs <prefix>.<name> (names), backpropagates the
// golden <prefix>.gy, and compares <prefix>.y and every input gradient <prefix>.grad_<name>.
void check_against_golden(const SafetensorsFile& g, const std::string& prefix, const std::vector<std::string>& names,
                          const std::function<Tensor(const std::vector<Tensor>&)>& fn, double atol, double rtol);

}  // namespace anima::test

// Checks allclose and prints its report on failure.
#define CHECK_CLOSE(actual, expected, atol, rtol)                                                   \
  do {                                                                                              \
    std::string anima_report_;                                                                      \
    bool anima_ok_ = ::anima::test::allclose((actual), (expected), (atol), (rtol), &anima_report_); \
    CHECK_MESSAGE(anima_ok_, anima_report_);                                                        \
  } while (0)

#define REQUIRE_CUDA_OR_SKIP() \
  if (!::anima::test::cuda_or_skip()) return
#define REQUIRE_VIDEO_OR_SKIP() \
  if (!::anima::test::video_or_skip()) return
