// The test runner: doctest's own runner plus a listener that counts test cases as passed,
// failed or skipped (a GPU test without a GPU is skipped, never passed), and prints the closing
// line "N passed, N failed, N skipped" that `make test` ends with.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

#include "data/image_io.h"
#include "data/synthetic.h"
#include "data/video_io.h"
#include "kernels/cpu_blas.h"
#include "kernels/cpu_report.h"
#include "kernels/random.h"
#include "kernels/shape_ops.h"
#include "tensor/runtime.h"
#include "tests/test_util.h"

namespace anima::test {
namespace {
struct Counts {
  int passed = 0, failed = 0, skipped = 0;
  bool current_skipped = false;
  std::map<std::string, int> skip_reasons;
};
Counts& counts() {
  static Counts c;
  return c;
}
}  // namespace

void mark_skipped(const std::string& reason) {
  counts().current_skipped = true;
  counts().skip_reasons[reason]++;
}

bool cuda_or_skip() {
  if (cuda_available()) return true;
  const char* require = std::getenv("ANIMA_REQUIRE_GPU");
  if (require && std::string(require) == "1") {
    FAIL("a GPU is required (make test-gpu) but " << cuda_status());
    return false;
  }
  mark_skipped(cuda_status());
  return false;
}

bool video_or_skip() {
  if (built_with_video()) return true;
  mark_skipped("built without video IO (VIDEO=0)");
  return false;
}

bool allclose(const Tensor& actual, const Tensor& expected, double atol, double rtol, std::string* report) {
  std::ostringstream os;
  if (actual.shape() != expected.shape()) {
    os << "shape " << actual.shape().str() << " != expected " << expected.shape().str();
    if (report) *report = os.str();
    return false;
  }
  std::vector<float> a = actual.to_vector<float>(), e = expected.to_vector<float>();
  int64_t bad = 0, worst = -1;
  double worst_excess = -1e300;
  for (size_t i = 0; i < a.size(); ++i) {
    double diff = std::fabs(double(a[i]) - double(e[i]));
    double tol = atol + rtol * std::fabs(double(e[i]));
    bool nan_match = std::isnan(a[i]) && std::isnan(e[i]);
    bool inf_match = std::isinf(a[i]) && a[i] == e[i];
    double excess = (nan_match || inf_match) ? -1 : (std::isnan(diff) ? 1e300 : diff - tol);
    if (excess > worst_excess) {
      worst_excess = excess;
      worst = int64_t(i);
    }
    if (excess > 0 && bad++ < 5)
      os << "  [" << i << "] got " << a[i] << ", expected " << e[i] << " (|diff| " << diff << " > tol " << tol << ")\n";
  }
  if (bad > 0) {
    os << bad << " of " << a.size() << " elements outside atol " << atol << " + rtol " << rtol
       << "*|expected|; worst at [" << worst << "]: got " << a[worst] << ", expected " << e[worst];
  }
  if (report) *report = os.str();
  return bad == 0;
}

void expect_gradients_match(const GradcheckFn& f, std::vector<Tensor> inputs, GradcheckOptions options) {
  for (Tensor& t : inputs) t.set_requires_grad(true);
  GradcheckResult r = gradcheck(f, inputs, options);
  CHECK(r.checked > 0);
  CHECK_MESSAGE(r.ok, r.report);
}

Tensor away_from_zero(const Shape& shape, uint64_t seed) {
  std::vector<float> v = random_tensor(shape, seed).to_vector<float>();
  for (float& x : v) x = x >= 0 ? 0.1f + x : -0.1f + x;
  return tensor(v, shape);
}

bool bit_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  Tensor x = raw::to_device(a, Device::cpu()), y = raw::to_device(b, Device::cpu());  // any dtype
  return x.nbytes() == 0 || std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes()) == 0;
}

std::pair<Tensor, Tensor> puppet_batch(uint64_t seed, int64_t size, int driving_frame) {
  std::vector<Tensor> src, drv;
  for (int v = 0; v < 2; ++v) {
    auto frames = render_puppet_video(seed, v, 0, 8, size);
    src.push_back(raw::view(image_to_chw(frames[0].image), Shape{1, 3, size, size}));
    drv.push_back(raw::view(image_to_chw(frames[size_t(driving_frame)].image), Shape{1, 3, size, size}));
  }
  return {kernels::concat(src, 0), kernels::concat(drv, 0)};
}

Tensor tensor(const std::vector<float>& values, const Shape& shape, Device device) {
  return Tensor::from_vector(values, shape, device);
}

Tensor random_tensor(const Shape& shape, uint64_t seed, float lo, float hi, Device device) {
  Generator gen(seed);
  return kernels::uniform(shape, lo, hi, gen, device);
}

// ANIMA_SOURCE_DIR in the environment overrides the checkout the tests were built in, for a test
// binary that runs elsewhere (the GPU-check bundle, a bare root).
std::string source_path(const std::string& relative) {
  const char* dir = std::getenv("ANIMA_SOURCE_DIR");
  return std::string(dir && *dir ? dir : ANIMA_SOURCE_DIR) + "/" + relative;
}

std::string golden_path(const std::string& name) { return source_path("tests/golden/" + name); }

const SafetensorsFile& golden(const std::string& name) {
  static std::map<std::string, SafetensorsFile> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, load_safetensors(golden_path(name))).first;
  return it->second;
}

void check_against_golden(const SafetensorsFile& g, const std::string& prefix, const std::vector<std::string>& names,
                          const std::function<Tensor(const std::vector<Tensor>&)>& fn, double atol, double rtol) {
  INFO("golden case " << prefix);
  std::vector<Tensor> in;
  for (const std::string& n : names) {
    Tensor c = raw::to_device(g.at(prefix + "." + n), g.at(prefix + "." + n).device());
    c.set_requires_grad(true);
    in.push_back(c);
  }
  Tensor y = fn(in);
  CHECK_CLOSE(y, g.at(prefix + ".y"), atol, rtol);
  y.backward(g.at(prefix + ".gy"));
  for (size_t k = 0; k < names.size(); ++k) {
    INFO("gradient of " << names[k]);
    CHECK_CLOSE(in[k].grad(), g.at(prefix + ".grad_" + names[k]), atol, rtol);
  }
}

namespace {
struct CountingListener : doctest::IReporter {
  explicit CountingListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { counts().current_skipped = false; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats& st) override {
    Counts& c = counts();
    if (!st.testCaseSuccess)
      c.failed++;
    else if (c.current_skipped)
      c.skipped++;
    else
      c.passed++;
  }
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("anima_counts", 1, CountingListener);
}  // namespace

}  // namespace anima::test

int main(int argc, char** argv) {
  anima::kernels::cpu_blas_select_kernels(argv);
  std::printf("anima tests; %s; %s\n", anima::device_report().c_str(), anima::kernels::cpu_report().c_str());
  doctest::Context context;
  // doctest's own summary would count a test that skipped for want of a GPU as passed; only
  // failures are printed by doctest, and the counts come from our listener's line below.
  context.setOption("minimal", true);
  context.applyCommandLine(argc, argv);
  int rc = context.run();
  if (context.shouldExit()) return rc;
  const auto& c = anima::test::counts();
  for (const auto& [reason, n] : c.skip_reasons) std::printf("skipped %d test case(s): %s\n", n, reason.c_str());
  std::printf("%d passed, %d failed, %d skipped\n", c.passed, c.failed, c.skipped);
  std::fflush(stdout);
  return rc;
}
