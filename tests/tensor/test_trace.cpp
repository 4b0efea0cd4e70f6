// Profiler ranges (tensor/trace.h): emitted by every CUDA build, compiled out of the CPU build,
// and harmless without a profiler (nested ranges open and close around real work).
#include "kernels/elementwise.h"
#include "tensor/runtime.h"
#include "tensor/trace.h"
#include "tests/test_util.h"

using namespace anima;

TEST_CASE("trace ranges: on in CUDA builds, off in the CPU build, nest without a profiler") {
  CHECK(trace_ranges_enabled() == built_with_cuda());
  Tensor x = test::random_tensor(Shape{64}, 1);
  Tensor y;
  {
    ANIMA_TRACE("outer");
    for (int i = 0; i < 3; ++i) {
      ANIMA_TRACE("inner");
      y = kernels::add(x, x);
    }
  }
  CHECK(test::bit_equal(y, kernels::mul(x, Tensor::scalar(2.f))));
}
