// FOMM's keypoint geometry (models/fomm/geometry.h): coordinate grid, kp2gaussian, heatmap_to_keypoints, batched 2x2
// matrices, CUDA-vs-CPU parity.

#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "models/fomm/geometry.h"
#include "tests/parity.h"
#include "tests/test_util.h"

using namespace anima;
using test::expect_gradients_match;
using test::random_tensor;
using test::tensor;
using namespace anima::fomm;

TEST_SUITE("kernels") {

TEST_CASE("coordinate grid, kp2gaussian and heatmap_to_keypoints") {
  Tensor grid = make_coordinate_grid(3, 5);
  CHECK(grid.shape() == Shape{3, 5, 2});
  auto g = grid.to_vector<float>();
  CHECK(g[0] == -1.f);  // (x, y) of the top-left pixel
  CHECK(g[1] == -1.f);
  CHECK(g[2] == -0.5f);        // x of the next pixel along the width
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
  pred[2 * 9 + 6] = 5.f;          // keypoint 0 at row 2, column 6
  pred[7 * 9 + 5 * 9 + 1] = 5.f;  // keypoint 1 at row 5, column 1
  SpatialKeypoints sk = heatmap_to_keypoints(tensor(pred, Shape{1, 2, 7, 9}), 0.01f);
  CHECK_CLOSE(sk.value,
              tensor({-1.f + 2.f * 6 / 8, -1.f + 2.f * 2 / 6, -1.f + 2.f * 1 / 8, -1.f + 2.f * 5 / 6}, Shape{1, 2, 2}),
              1e-4, 0);
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

PARITY("kp2gaussian_heatmap_keypoints", 1e-5, 1e-4,
       ({random_tensor(Shape{2, 10, 2}, 103), random_tensor(Shape{2, 10, 16, 16}, 104)}),
       concat({reshape(fomm::kp2gaussian(x[0], 16, 16, 0.01f), {2, -1}),
               reshape(fomm::heatmap_to_keypoints(x[1], 0.1f).value, {2, -1})},
              1))

PARITY("inverse2x2_matmul2x2", 1e-5, 1e-5,
       ({random_tensor(Shape{2, 10, 2, 2}, 105, 0.5f, 1.5f), random_tensor(Shape{2, 10, 2, 2}, 106)}),
       fomm::matmul2x2(fomm::inverse2x2(x[0]), x[1]))

}  // TEST_SUITE
