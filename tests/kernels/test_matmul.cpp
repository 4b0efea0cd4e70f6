// matmul (kernels/matmul.h): the BLAS path against the reference loop, CUDA-vs-CPU parity.

#include "autograd/functions.h"
#include "kernels/matmul.h"
#include "kernels/random.h"
#include "tests/parity.h"
#include "tests/test_util.h"

using namespace anima;
namespace K = anima::kernels;
using test::random_tensor;
using test::tensor;

TEST_SUITE("kernels") {

TEST_CASE("matmul: BLAS path equals the reference loop for every transpose and batching") {
  Generator gen(9);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Tensor a = K::uniform(ta ? Shape{4, 7, 5} : Shape{4, 5, 7}, -1, 1, gen);
      Tensor b = K::uniform(tb ? Shape{4, 3, 7} : Shape{4, 7, 3}, -1, 1, gen);
      Tensor c = K::matmul(a, b, ta, tb);
      CHECK(c.shape() == Shape{4, 5, 3});
      CHECK_CLOSE(c, K::matmul_reference(a, b, ta, tb), 1e-5, 1e-5);
      Tensor shared = K::uniform(tb ? Shape{3, 7} : Shape{7, 3}, -1, 1, gen);
      CHECK_CLOSE(K::matmul(a, shared, ta, tb), K::matmul_reference(a, shared, ta, tb), 1e-5, 1e-5);
    }
  Tensor m = tensor({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  Tensor n = tensor({1, 0, 0, 1, 1, 1}, Shape{3, 2});
  CHECK(K::matmul(m, n).to_vector<float>() == std::vector<float>{4, 5, 10, 11});
  CHECK_THROWS_WITH_AS(K::matmul(m, m), doctest::Contains("matmul: inner dimensions differ: [2, 3] @ [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(K::matmul(tensor({1}, Shape{1}), m), doctest::Contains("at least 2 dims"), Error);
  CHECK(K::matmul(Tensor::zeros(Shape{2, 0}), Tensor::zeros(Shape{0, 3})).to_vector<float>() ==
        std::vector<float>(6, 0.f));
}

PARITY("matmul", 1e-4, 1e-4, ({random_tensor(Shape{3, 64, 48}, 42), random_tensor(Shape{3, 48, 80}, 43)}),
       matmul(x[0], x[1]))

PARITY("matmul_transposed_shared", 1e-4, 1e-4,
       ({random_tensor(Shape{2, 48, 64}, 44), random_tensor(Shape{80, 48}, 45)}), matmul(x[0], x[1], true, true))

}  // TEST_SUITE
