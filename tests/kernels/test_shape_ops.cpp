// permute, transpose, concat, slice, flip (kernels/shape_ops.h): values, large and empty tensors, CUDA-vs-CPU parity.

#include "autograd/functions.h"
#include "kernels/shape_ops.h"
#include "tests/parity.h"
#include "tests/test_util.h"

using namespace anima;
namespace K = anima::kernels;
using test::away_from_zero;
using test::expect_gradients_match;
using test::random_tensor;
using test::tensor;

TEST_SUITE("kernels") {

TEST_CASE("permute and transpose") {
  Tensor x = tensor({0, 1, 2, 3, 4, 5}, Shape{1, 2, 3});
  Tensor t = K::transpose(x, 1, 2);
  CHECK(t.shape() == Shape{1, 3, 2});
  CHECK(t.to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5});
  Tensor p = K::permute(x, {2, 0, 1});
  CHECK(p.shape() == Shape{3, 1, 2});
  CHECK(p.to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5});
  Tensor i = Tensor::from_vector<int32_t>({1, 2, 3, 4}, Shape{2, 2});
  CHECK(K::transpose(i, 0, 1).to_vector<int32_t>() == std::vector<int32_t>{1, 3, 2, 4});
  CHECK_THROWS_WITH_AS(K::permute(x, {0, 0, 1}), doctest::Contains("repeated"), Error);
  CHECK_THROWS_WITH_AS(K::permute(x, {0, 1}), doctest::Contains("2 dims given for shape [1, 2, 3]"), Error);
}

TEST_CASE("permute: large tensors against direct indexing, and empty tensors") {
  // Big enough for the CPU's threaded row path; NCHW -> NHWC and a permutation that keeps the
  // last dimension.
  Shape s{3, 17, 29, 31};
  Tensor x = test::random_tensor(s, 7);
  auto v = x.to_vector<float>();
  for (std::vector<int> perm : {std::vector<int>{0, 2, 3, 1}, std::vector<int>{2, 0, 1, 3}}) {
    Tensor y = K::permute(x, perm);
    auto vy = y.to_vector<float>();
    int64_t bad = 0, i = 0;
    int64_t c[4];
    for (c[0] = 0; c[0] < s[perm[0]]; ++c[0])
      for (c[1] = 0; c[1] < s[perm[1]]; ++c[1])
        for (c[2] = 0; c[2] < s[perm[2]]; ++c[2])
          for (c[3] = 0; c[3] < s[perm[3]]; ++c[3], ++i) {
            int64_t src[4];
            for (int d = 0; d < 4; ++d) src[perm[size_t(d)]] = c[d];
            int64_t off = ((src[0] * s[1] + src[1]) * s[2] + src[2]) * s[3] + src[3];
            bad += vy[size_t(i)] != v[size_t(off)];
          }
    CHECK(bad == 0);
  }
  Tensor empty = K::permute(Tensor::zeros(Shape{2, 0, 3}), {2, 0, 1});
  CHECK(empty.shape() == Shape{3, 2, 0});
  CHECK(K::permute(Tensor::zeros(Shape{2, 3, 0}), {2, 0, 1}).shape() == Shape{0, 2, 3});
}

TEST_CASE("concat and slice along any dim") {
  Tensor a = tensor({1, 2, 3, 4}, Shape{2, 2});
  Tensor b = tensor({5, 6}, Shape{2, 1});
  Tensor c = K::concat({a, b}, 1);
  CHECK(c.shape() == Shape{2, 3});
  CHECK(c.to_vector<float>() == std::vector<float>{1, 2, 5, 3, 4, 6});
  Tensor d = K::concat({a, tensor({7, 8}, Shape{1, 2})}, 0);
  CHECK(d.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 7, 8});
  CHECK_THROWS_WITH_AS(K::concat({a, b}, 0), doctest::Contains("concat: tensor 1 has shape [2, 1], incompatible"),
                       Error);
  Tensor r = tensor({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, Shape{2, 5});
  CHECK(K::slice(r, 1, 1, 4).to_vector<float>() == std::vector<float>{1, 2, 3, 6, 7, 8});
  CHECK(K::slice(r, 1, 0, 5, 2).to_vector<float>() == std::vector<float>{0, 2, 4, 5, 7, 9});
  CHECK(K::slice(r, -1, -2, 100).to_vector<float>() == std::vector<float>{3, 4, 8, 9});
  CHECK(K::slice(r, 0, 1, 2).shape() == Shape{1, 5});
  CHECK(K::slice(r, 1, 4, 2).shape() == Shape{2, 0});
  Tensor back = K::slice_backward(tensor({1, 1, 1, 1, 1, 1}, Shape{2, 3}), Shape{2, 5}, 1, 0, 5, 2);
  CHECK(back.to_vector<float>() == std::vector<float>{1, 0, 1, 0, 1, 1, 0, 1, 0, 1});
  CHECK_THROWS_WITH_AS(K::slice(r, 1, 0, 5, 0), doctest::Contains("slice: step must be at least 1"), Error);
}

PARITY("permute", 0, 0, ({random_tensor(Shape{2, 3, 4, 5}, 38)}), permute(x[0], {3, 1, 0, 2}))

PARITY("concat", 0, 0, ({random_tensor(Shape{2, 3, 4}, 39), random_tensor(Shape{2, 5, 4}, 40)}),
       concat({x[0], x[1]}, 1))

PARITY("slice", 0, 0, ({random_tensor(Shape{4, 10, 3}, 41)}), slice(x[0], 1, 1, 9, 3))

PARITY("flip", 0, 0, ({random_tensor(Shape{2, 3, 5, 7}, 50)}),
       concat({kernels::flip(x[0].detach(), 3), kernels::flip(x[0].detach(), 0), kernels::flip(x[0].detach(), 2)}, 1))

}  // TEST_SUITE
