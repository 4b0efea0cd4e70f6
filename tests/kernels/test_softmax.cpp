// softmax and log_softmax (kernels/softmax.h): values, stability, CUDA-vs-CPU parity.

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

PARITY("softmax", 1e-6, 1e-5, ({random_tensor(Shape{4, 11, 64}, 46, -3, 3)}), softmax(x[0], 1))

PARITY("log_softmax", 1e-5, 1e-5, ({random_tensor(Shape{4, 3364}, 47, -3, 3)}), log_softmax(x[0], -1))

}  // TEST_SUITE
