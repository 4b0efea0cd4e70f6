#include <cmath>

#include <cstdlib>
#include <string>

#include "kernels/cpu_blas.h"
#include "kernels/cpu_report.h"
#include "kernels/matmul.h"
#include "kernels/random.h"
#include "kernels/reduce.h"
#include "kernels/shape_ops.h"
#include "kernels/softmax.h"
#include "tests/test_util.h"

using namespace anima;
namespace K = anima::kernels;
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
  CHECK_THROWS_WITH_AS(K::concat({a, b}, 0), doctest::Contains("concat: tensor 1 has shape [2, 1], incompatible"), Error);
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

// anima_tests calls cpu_blas_select_kernels first (as anima does): on a CPU with AVX2/AVX-512,
// OpenBLAS must not be left on its generic kernels, unless the user chose them.
TEST_CASE("matmul: OpenBLAS runs the best kernels this CPU has") {
  std::string report = kernels::cpu_report();
  CHECK(report.find("OpenBLAS") != std::string::npos);
  const char* chosen = std::getenv("OPENBLAS_CORETYPE");
  const char* best = kernels::cpu_blas_best_kernels();
  if (chosen && (!best || std::string(chosen) != best)) {
    test::mark_skipped("OPENBLAS_CORETYPE=" + std::string(chosen) + " was set by the user");
    return;
  }
  INFO(report);
  if (best) CHECK_FALSE(kernels::cpu_blas_kernels_generic());
}

TEST_CASE("softmax and log-softmax: values, stability, rows sum to one") {
  Tensor x = tensor({1, 2, 3, 1000, 1000, 1000}, Shape{2, 3});
  Tensor y = K::softmax(x, 1);
  float e1 = std::exp(1.f), e2 = std::exp(2.f), e3 = std::exp(3.f), z = e1 + e2 + e3;
  CHECK_CLOSE(y, tensor({e1 / z, e2 / z, e3 / z, 1 / 3.f, 1 / 3.f, 1 / 3.f}, Shape{2, 3}), 1e-7, 1e-6);
  CHECK_CLOSE(K::log_softmax(x, -1),
              tensor({1 - std::log(z), 2 - std::log(z), 3 - std::log(z), -std::log(3.f),
                      -std::log(3.f), -std::log(3.f)}, Shape{2, 3}), 1e-6, 1e-6);
  Generator gen(4);
  Tensor r = K::uniform(Shape{3, 4, 5}, -5, 5, gen);
  CHECK_CLOSE(K::sum(K::softmax(r, 1), {1}), Tensor::ones(Shape{3, 5}), 1e-6, 0);
}

}  // TEST_SUITE
