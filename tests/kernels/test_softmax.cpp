// softmax and log_softmax (kernels/softmax.h): values, stability, CUDA-vs-CPU parity.

#include <omp.h>

#include <cmath>
#include <cstring>

#include "autograd/functions.h"
#include "kernels/random.h"
#include "kernels/reduce.h"
#include "kernels/softmax.h"
#include "tests/parity.h"
#include "tests/test_util.h"

using namespace anima;
namespace K = anima::kernels;
using test::random_tensor;
using test::tensor;

TEST_SUITE("kernels") {

TEST_CASE("softmax and log-softmax: values, stability, rows sum to one") {
  Tensor x = tensor({1, 2, 3, 1000, 1000, 1000}, Shape{2, 3});
  Tensor y = K::softmax(x, 1);
  float e1 = std::exp(1.f), e2 = std::exp(2.f), e3 = std::exp(3.f), z = e1 + e2 + e3;
  CHECK_CLOSE(y, tensor({e1 / z, e2 / z, e3 / z, 1 / 3.f, 1 / 3.f, 1 / 3.f}, Shape{2, 3}), 1e-7, 1e-6);
  CHECK_CLOSE(
      K::log_softmax(x, -1),
      tensor({1 - std::log(z), 2 - std::log(z), 3 - std::log(z), -std::log(3.f), -std::log(3.f), -std::log(3.f)},
             Shape{2, 3}),
      1e-6, 1e-6);
  Generator gen(4);
  Tensor r = K::uniform(Shape{3, 4, 5}, -5, 5, gen);
  CHECK_CLOSE(K::sum(K::softmax(r, 1), {1}), Tensor::ones(Shape{3, 5}), 1e-6, 0);
}

namespace {
// The first element whose bits differ, or -1. Any NaN matches any NaN: which of two NaN operands
// an add passes on (and so its sign) is the compiler's choice, as it commutes the operands.
int64_t first_difference(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return 0;
  const float *pa = a.data<float>(), *pb = b.data<float>();
  for (int64_t i = 0; i < a.numel(); ++i) {
    if (std::isnan(pa[i]) && std::isnan(pb[i])) continue;
    if (std::memcmp(pa + i, pb + i, sizeof(float)) != 0) return i;
  }
  return -1;
}
}  // namespace

// The fused CPU path against the composed one (amax, exp, sum, div): the same bits in every kind,
// over the last dimension (one chunk and several) and over another (a partial column block, a
// trailing size-1 dimension, and beyond kCpuChunk, where both compose), with infinities and NaNs,
// at 1, 2 and 3 threads.
TEST_CASE("softmax: the fused CPU path gives the composed path's bits") {
  struct Case {
    Shape shape;
    int dim;
  };
  for (Case c : {Case{{2, 11, 64, 64}, 1}, Case{{2, 10, 3364}, 2}, Case{{3, 9001}, -1}, Case{{2, 13, 300}, 1},
                 Case{{4, 7, 1}, 1}, Case{{2, 4100, 3}, 1}, Case{{5, 1}, 0}}) {
    INFO("shape " << c.shape.str() << " dim " << c.dim);
    Tensor x = random_tensor(c.shape, 51, -20.f, 20.f), g = random_tensor(c.shape, 52);
    float* px = x.data<float>();
    int64_t n = x.numel();
    px[n / 3] = INFINITY;
    px[n / 2] = -INFINITY;
    px[n - 1] = NAN;
    g.data<float>()[n / 4] = NAN;
    for (int threads : {1, 2, 3}) {
      INFO(threads << " threads");
      int previous = omp_get_max_threads();
      omp_set_num_threads(threads);
      auto all = [&] {
        Tensor y = K::softmax(x, c.dim), l = K::log_softmax(x, c.dim);
        return std::vector<Tensor>{y, K::softmax_backward(g, y, c.dim), l, K::log_softmax_backward(g, l, c.dim)};
      };
      std::vector<Tensor> fused = all();
      bool before = K::set_softmax_composed_cpu(true);
      std::vector<Tensor> composed = all();
      K::set_softmax_composed_cpu(before);
      omp_set_num_threads(previous);
      for (size_t i = 0; i < fused.size(); ++i) {
        INFO("output " << i << " (softmax, its backward, log_softmax, its backward)");
        CHECK(first_difference(fused[i], composed[i]) == -1);
      }
    }
  }
  CHECK_THROWS_WITH_AS(K::softmax_backward(Tensor::ones(Shape{2, 3}), Tensor::ones(Shape{3, 2}), 1),
                       doctest::Contains("softmax_backward: the gradient [2, 3] does not match the output [3, 2]"),
                       Error);
}

PARITY("softmax", 1e-6, 1e-5, ({random_tensor(Shape{4, 11, 64}, 46, -3, 3)}), softmax(x[0], 1))

PARITY("log_softmax", 1e-5, 1e-5, ({random_tensor(Shape{4, 3364}, 47, -3, 3)}), log_softmax(x[0], -1))

}  // TEST_SUITE
