#include <cmath>
#include <tuple>

#include "autograd/functions.h"
#include "kernels/random.h"
#include "kernels/reduce.h"
#include "kernels/shape_ops.h"
#include "tests/parity.h"
#include "tests/test_util.h"

using namespace anima;
using test::expect_gradients_match;
using test::random_tensor;
namespace K = anima::kernels;
using test::tensor;

TEST_SUITE("kernels") {

TEST_CASE("sum, mean, amax, amin over chosen dims and over all") {
  // [2, 3, 2]: value = 100*i + 10*j + k
  std::vector<float> v;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) v.push_back(100.f * i + 10.f * j + k);
  Tensor x = tensor(v, Shape{2, 3, 2});
  CHECK(K::sum(x).item() == 1 * 6 * 100 + 2 * 30 * 2 + 6);  // 600 + 120 + 6
  CHECK(K::sum(x).dim() == 0);
  CHECK(K::sum(x, {2}).to_vector<float>() == std::vector<float>{1, 21, 41, 201, 221, 241});
  CHECK(K::sum(x, {0}).to_vector<float>() == std::vector<float>{100, 102, 120, 122, 140, 142});
  CHECK(K::sum(x, {0, 2}, true).shape() == Shape{1, 3, 1});
  CHECK(K::sum(x, {0, 2}).to_vector<float>() == std::vector<float>{202, 242, 282});
  CHECK(K::sum(x, {-1, 0}).to_vector<float>() == std::vector<float>{202, 242, 282});
  CHECK(K::mean(x, {1}).to_vector<float>() == std::vector<float>{10, 11, 110, 111});
  CHECK(K::mean(x).item() == doctest::Approx(726.0 / 12));
  CHECK(K::amax(x, {1}).to_vector<float>() == std::vector<float>{20, 21, 120, 121});
  CHECK(K::amin(x, {0, 1}).to_vector<float>() == std::vector<float>{0, 1});
  CHECK(K::amax(x).item() == 121.f);
  CHECK(K::amin(tensor({3, -7, 2}, Shape{3})).item() == -7.f);
}

TEST_CASE("a reduction over a middle dimension gives the bits of the same reduction over a last one") {
  // [outer, K, inner] reduced over K in place (kernels/reduce.cu) against the permuted copy
  // [outer, inner, K] reduced over its last dimension, for K below, at and above a group of 8,
  // inner widths around the 64-wide blocks, and -0 / +-inf among the values
  uint64_t seed = 900;
  for (int64_t k_len : {1, 7, 8, 13, 64, 300})
    for (int64_t inner : {1, 5, 64, 130}) {
      Tensor x = random_tensor(Shape{3, k_len, inner}, seed++);
      float* px = x.data<float>();
      px[0] = -0.f;
      if (x.numel() > 3) px[3] = INFINITY, px[1] = -INFINITY;
      Tensor xt = K::permute(x, {0, 2, 1});
      INFO("K " << k_len << ", inner " << inner);
      CHECK(test::bit_equal(K::sum(x, {1}), K::sum(xt, {2})));
      CHECK(test::bit_equal(K::mean(x, {1}), K::mean(xt, {2})));
      CHECK(test::bit_equal(K::amax(x, {1}), K::amax(xt, {2})));
      CHECK(test::bit_equal(K::amin(x, {1}), K::amin(xt, {2})));
      CHECK(test::bit_equal(K::amax(x, {1}, true), raw::view(K::amax(xt, {2}), Shape{3, 1, inner})));
    }
}

TEST_CASE("long reductions agree with a double-precision reference") {
  Generator gen(3);
  Tensor x = K::uniform(Shape{3, 300001}, -1.f, 1.f, gen);
  auto v = x.to_vector<float>();
  std::vector<float> ref(3, 0.f);
  for (int r = 0; r < 3; ++r) {
    double acc = 0;
    for (int k = 0; k < 300001; ++k) acc += v[r * 300001 + k];
    ref[r] = float(acc);
  }
  // Bound: chunked summation error is far below sqrt(n) * eps * max|x| * (chunk length).
  CHECK_CLOSE(K::sum(x, {1}), tensor(ref, Shape{3}), 2e-2, 0);
  Tensor m = K::mean(x, {1});
  for (int r = 0; r < 3; ++r) CHECK(m.to_vector<float>()[r] == doctest::Approx(ref[r] / 300001.0).epsilon(1e-4));
}

TEST_CASE("NaN propagates through max and min; empty sums are zero") {
  Tensor x = tensor({1, NAN, 3}, Shape{3});
  CHECK(std::isnan(K::amax(x).item()));
  CHECK(std::isnan(K::amin(x).item()));
  CHECK(K::sum(Tensor::zeros(Shape{0})).item() == 0.f);
  CHECK_THROWS_WITH_AS(K::amax(Tensor::zeros(Shape{2, 0}), {1}), doctest::Contains("amax: cannot reduce zero elements"),
                       Error);
}

TEST_CASE("sum_to folds broadcast dimensions") {
  Tensor g = tensor({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  CHECK(K::sum_to(g, Shape{3}).to_vector<float>() == std::vector<float>{5, 7, 9});
  CHECK(K::sum_to(g, Shape{2, 1}).to_vector<float>() == std::vector<float>{6, 15});
  CHECK(K::sum_to(g, Shape{}).item() == 21.f);
  CHECK(K::sum_to(g, Shape{2, 3}).same_storage(g));
  CHECK_THROWS_WITH_AS(K::sum_to(g, Shape{4}), doctest::Contains("sum_to"), Error);
}

TEST_CASE("reduction errors") {
  Tensor x = Tensor::zeros(Shape{2, 2});
  CHECK_THROWS_WITH_AS(K::sum(x, {2}), doctest::Contains("sum: dimension 2 out of range for shape [2, 2]"), Error);
  CHECK_THROWS_WITH_AS(K::sum(x, {0, -2}), doctest::Contains("listed twice"), Error);
  CHECK_THROWS_WITH_AS(K::mean(Tensor::zeros(Shape{2}, DType::I64)), doctest::Contains("mean: expected a float32"),
                       Error);
}

TEST_CASE("mean_abs_diff: one fused reduction with the sign gradient") {
  Tensor a = tensor({1, -2, 3, 0.5f}, Shape{2, 2}), b = tensor({0, 0, 4, 0.5f}, Shape{2, 2});
  CHECK(mean_abs_diff(a, b).item() == doctest::Approx((1 + 2 + 1 + 0) / 4.0));
  Tensor big_a = random_tensor(Shape{3, 70000}, 4), big_b = random_tensor(Shape{3, 70000}, 5);
  CHECK(mean_abs_diff(big_a, big_b).item() == doctest::Approx(mean(abs(big_a - big_b)).item()).epsilon(1e-5));
  expect_gradients_match([](auto& t) { return mean_abs_diff(t[0], t[1]); },
                         {random_tensor(Shape{2, 3}, 6), random_tensor(Shape{2, 3}, 7) + 3.f});
  CHECK_THROWS_WITH_AS(mean_abs_diff(a, tensor({1}, Shape{1})),
                       doctest::Contains("mean_abs_diff: shapes [2, 2] and [1] differ"), Error);
}

// weighted_sum against what it replaces: the broadcast product, summed, with the composed
// gradients; one chunk and several, both gradients, and a gradcheck.
TEST_CASE("weighted_sum: the bits of sum(w[:, :, None] * v, 1), forward and both gradients") {
  for (auto [R, Kk, C] : {std::tuple{20, 3364, 2}, std::tuple{3, 9000, 3}, std::tuple{5, 1, 4}}) {
    INFO(R << " x " << Kk << " x " << C);
    Tensor w = random_tensor(Shape{R, Kk}, 61), v = random_tensor(Shape{Kk, C}, 62), g = random_tensor(Shape{R, C}, 63);
    Tensor w1 = w.clone(), v1 = v.clone(), w2 = w.clone(), v2 = v.clone();
    for (Tensor* t : {&w1, &v1, &w2, &v2}) t->set_requires_grad(true);
    Tensor fused = weighted_sum(w1, v1);
    Tensor composed = sum(unsqueeze(w2, 2) * unsqueeze(v2, 0), {1});
    fused.backward(g);
    composed.backward(g);
    CHECK(test::bit_equal(fused, composed));
    CHECK(test::bit_equal(w1.grad(), w2.grad()));
    CHECK(test::bit_equal(v1.grad(), v2.grad()));
  }
  expect_gradients_match([](auto& t) { return weighted_sum(t[0], t[1]); },
                         {random_tensor(Shape{3, 5}, 64), random_tensor(Shape{5, 2}, 65)});
  CHECK_THROWS_WITH_AS(weighted_sum(Tensor::ones(Shape{2, 3}), Tensor::ones(Shape{4, 2})),
                       doctest::Contains("weighted_sum: expected [R, K] and [K, C], got [2, 3] and [4, 2]"), Error);
}

PARITY("weighted_sum", 1e-5, 1e-5, ({random_tensor(Shape{20, 3364}, 66, 0, 1), random_tensor(Shape{3364, 2}, 67)}),
       weighted_sum(x[0], x[1]))

PARITY("sum_dims", 1e-5, 1e-5, ({random_tensor(Shape{8, 16, 32}, 32)}), sum(x[0], {0, 2}))

PARITY("sum_all_large", 1e-2, 1e-5, ({random_tensor(Shape{1 << 20}, 33)}), sum(x[0]))

PARITY("sum_long_rows_split", 1e-2, 1e-5, ({random_tensor(Shape{3, 200000}, 34)}), sum(x[0], {1}))

PARITY("sum_many_short_rows", 1e-5, 1e-5, ({random_tensor(Shape{5000, 7}, 35)}), sum(x[0], {1}, true))

PARITY("mean", 1e-6, 1e-5, ({random_tensor(Shape{6, 1000}, 36)}), mean(x[0], {1}))

PARITY("amax_amin", 0, 0, ({random_tensor(Shape{16, 3000}, 37)}), amax(x[0], {1}) + amin(x[0], {1}))

PARITY("mean_abs_diff", 1e-6, 1e-5,
       ({random_tensor(Shape{4, 64, 33, 33}, 101), random_tensor(Shape{4, 64, 33, 33}, 102)}),
       mean_abs_diff(x[0], x[1]))

}  // TEST_SUITE
