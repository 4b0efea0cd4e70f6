// Keypoint geometry, max pooling, the fused mean |a - b|, and FOMM's anti-alias pyramid.
#include <cmath>

#include "autograd/functions.h"
#include "models/fomm/geometry.h"
#include "autograd/gradcheck.h"
#include "autograd/nn_functions.h"
#include "layers/anti_alias.h"
#include "formats/safetensors.h"
#include "tests/test_util.h"

using namespace anima;
using namespace anima::fomm;
using test::expect_gradients_match;
using test::random_tensor;
using test::tensor;

namespace {
const SafetensorsFile& pooling_golden() {
  static SafetensorsFile f = load_safetensors(test::golden_path("pooling.safetensors"));
  return f;
}
}  // namespace

TEST_SUITE("kernels") {

TEST_CASE("coordinate grid, kp2gaussian and heatmap_to_keypoints") {
  Tensor grid = make_coordinate_grid(3, 5);
  CHECK(grid.shape() == Shape{3, 5, 2});
  auto g = grid.to_vector<float>();
  CHECK(g[0] == -1.f);   // (x, y) of the top-left pixel
  CHECK(g[1] == -1.f);
  CHECK(g[2] == -0.5f);  // x of the next pixel along the width
  CHECK(g[2 * 5 + 1] == 0.f);  // y of the second row
  CHECK(g.back() == 1.f);
  Tensor kp = tensor({0.5f, -0.5f}, Shape{1, 1, 2});  // x = 0.5, y = -0.5
  Tensor heat = kp2gaussian(kp, 5, 5, 0.01f);
  CHECK(heat.shape() == Shape{1, 1, 5, 5});
  auto h = heat.to_vector<float>();
  CHECK(h[1 * 5 + 3] == doctest::Approx(1.f));  // row y=-0.5 is 1, column x=0.5 is 3
  CHECK(h[0] < 1e-5f);
  // A sharp prediction at one pixel gives that pixel's coordinates back.
  std::vector<float> pred(2 * 7 * 9, 0.f);
  pred[2 * 9 + 6] = 5.f;             // keypoint 0 at row 2, column 6
  pred[7 * 9 + 5 * 9 + 1] = 5.f;     // keypoint 1 at row 5, column 1
  SpatialKeypoints sk = heatmap_to_keypoints(tensor(pred, Shape{1, 2, 7, 9}), 0.01f);
  CHECK_CLOSE(sk.value, tensor({-1.f + 2.f * 6 / 8, -1.f + 2.f * 2 / 6, -1.f + 2.f * 1 / 8, -1.f + 2.f * 5 / 6},
                               Shape{1, 2, 2}), 1e-4, 0);
  CHECK_CLOSE(sum(sk.heatmap, {2, 3}), Tensor::ones(Shape{1, 2}), 1e-5, 0);
  expect_gradients_match([](auto& t) { return kp2gaussian(t[0], 6, 5, 0.1f); }, {random_tensor(Shape{2, 3, 2}, 1)});
  expect_gradients_match([](auto& t) { return heatmap_to_keypoints(t[0], 0.5f).value; },
                         {random_tensor(Shape{1, 2, 4, 5}, 2)});
}

TEST_CASE("batched 2x2 matrices: product, determinant, inverse") {
  Tensor a = tensor({1, 2, 3, 4, 2, 0, 0, 2}, Shape{2, 2, 2});
  Tensor b = tensor({0, 1, 1, 0, 1, 1, 0, 1}, Shape{2, 2, 2});
  CHECK(matmul2x2(a, b).to_vector<float>() == std::vector<float>{2, 1, 4, 3, 2, 2, 0, 2});
  CHECK(det2x2(a).to_vector<float>() == std::vector<float>{-2, 4});
  CHECK_CLOSE(matmul2x2(a, inverse2x2(a)), tensor({1, 0, 0, 1, 1, 0, 0, 1}, Shape{2, 2, 2}), 1e-6, 0);
  CHECK_CLOSE(matmul2x2(a, b), matmul(a, b), 0, 0);
  Tensor m = tensor({2, 0.5f, -0.3f, 1.5f, 1, 0.2f, 0.1f, 3}, Shape{2, 1, 2, 2});
  expect_gradients_match([](auto& t) { return inverse2x2(t[0]); }, {m});
  expect_gradients_match([](auto& t) { return det2x2(t[0]); }, {m});
  expect_gradients_match([](auto& t) { return matmul2x2(t[0], t[1]); }, {m, random_tensor(Shape{2, 1, 2, 2}, 3)});
  CHECK_THROWS_WITH_AS(det2x2(Tensor::zeros(Shape{3, 3})), doctest::Contains("det2x2: expected [..., 2, 2]"), Error);
}

TEST_CASE("max_pool2d matches PyTorch (values, ties to the first, gradients)") {
  const SafetensorsFile& g = pooling_golden();
  for (auto [name, k, s, p] : {std::tuple{"maxpool2", 2, 2, 0}, std::tuple{"maxpool3s2p1", 3, 2, 1}}) {
    INFO(name);
    Tensor x = raw::to_device(g.at(std::string(name) + ".x"), Device::cpu());
    x.set_requires_grad(true);
    Tensor y = max_pool2d(x, k, s, p);
    CHECK_CLOSE(y, g.at(std::string(name) + ".y"), 0, 0);
    y.backward(g.at(std::string(name) + ".gy"));
    CHECK_CLOSE(x.grad(), g.at(std::string(name) + ".grad_x"), 1e-6, 1e-6);
  }
  Tensor ties = tensor({1, 1, 1, 1}, Shape{1, 1, 2, 2});
  ties.set_requires_grad(true);
  max_pool2d(ties, 2).backward(tensor({1}, Shape{1, 1, 1, 1}));
  CHECK(ties.grad().to_vector<float>() == std::vector<float>{1, 0, 0, 0});
}

TEST_CASE("max_pool2d backward: gradcheck (overlapping windows, padding)") {
  // Distinct values at least 0.01 apart, so the finite-difference step never changes a window's
  // maximum: a shuffled ramp.
  Shape s{2, 3, 7, 6};
  std::vector<float> v(size_t(s.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.01f * float((i * 37) % v.size()) - 1.f;
  for (auto [k, st, p] : {std::tuple{2, 2, 0}, std::tuple{3, 2, 1}, std::tuple{3, 1, 1}, std::tuple{3, 3, 1}, std::tuple{2, 3, 0}}) {
    INFO("kernel " << k << " stride " << st << " padding " << p);
    expect_gradients_match([=](auto& x) { return max_pool2d(x[0], k, st, p); }, {tensor(v, s)});
  }
}

TEST_CASE("mean_abs_diff: one fused reduction with the sign gradient") {
  Tensor a = tensor({1, -2, 3, 0.5f}, Shape{2, 2}), b = tensor({0, 0, 4, 0.5f}, Shape{2, 2});
  CHECK(mean_abs_diff(a, b).item() == doctest::Approx((1 + 2 + 1 + 0) / 4.0));
  Tensor big_a = random_tensor(Shape{3, 70000}, 4), big_b = random_tensor(Shape{3, 70000}, 5);
  CHECK(mean_abs_diff(big_a, big_b).item() == doctest::Approx(mean(abs(big_a - big_b)).item()).epsilon(1e-5));
  expect_gradients_match([](auto& t) { return mean_abs_diff(t[0], t[1]); },
                         {random_tensor(Shape{2, 3}, 6), random_tensor(Shape{2, 3}, 7) + 3.f});
  CHECK_THROWS_WITH_AS(mean_abs_diff(a, tensor({1}, Shape{1})), doctest::Contains("mean_abs_diff: shapes [2, 2] and [1] differ"), Error);
}

TEST_CASE("anti-alias downsampling matches FOMM's formula; pyramid names are FOMM's") {
  const SafetensorsFile& g = pooling_golden();
  for (double scale : {0.5, 0.25, 0.125}) {
    std::string key = "antialias_" + std::string(scale == 0.5 ? "0.5" : scale == 0.25 ? "0.25" : "0.125");
    INFO(key);
    AntiAliasInterpolation2d down(3, scale);
    CHECK_CLOSE(down.weight, g.at(key + ".weight"), 1e-7, 1e-5);
    Tensor x = raw::to_device(g.at(key + ".x"), Device::cpu());
    x.set_requires_grad(true);
    Tensor y = down.forward(x);
    CHECK_CLOSE(y, g.at(key + ".y"), 1e-6, 1e-5);
    y.backward(g.at(key + ".gy"));
    CHECK_CLOSE(x.grad(), g.at(key + ".grad_x"), 1e-6, 1e-5);
  }
  CHECK(AntiAliasInterpolation2d(3, 0.25).kernel_size() == 13);
  CHECK(AntiAliasInterpolation2d(3, 0.125).kernel_size() == 29);
  ImagePyramid pyramid({1, 0.5, 0.25, 0.125}, 3);
  std::vector<std::string> names;
  for (auto& [n, t] : pyramid.named_buffers()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"downs.down_1.weight", "downs.down_0-5.weight", "downs.down_0-25.weight",
                                          "downs.down_0-125.weight"});
  auto levels = pyramid.forward(random_tensor(Shape{1, 3, 64, 64}, 8));
  CHECK(levels.at("prediction_1").shape() == Shape{1, 3, 64, 64});
  CHECK(levels.at("prediction_0.125").shape() == Shape{1, 3, 8, 8});
}

}  // TEST_SUITE
