// Pooling, interpolation and padding (kernels/resample.h): values against PyTorch and by hand, gradchecks, errors,
// deterministic GPU backward, CUDA-vs-CPU parity.

#include <cmath>

#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "tests/parity.h"
#include "tests/test_util.h"

using namespace anima;
using test::expect_gradients_match;
using test::random_tensor;
using test::tensor;

TEST_SUITE("kernels") {

TEST_CASE("avg_pool2d and interpolate match PyTorch") {
  const SafetensorsFile& g = test::golden("resample.safetensors");
  auto one = [&](const char* name, std::function<Tensor(const Tensor&)> f) {
    test::check_against_golden(
        g, name, {"x"}, [f](const std::vector<Tensor>& t) { return f(t[0]); }, 1e-6, 1e-5);
  };
  one("avg2", [](const Tensor& x) { return avg_pool2d(x, 2); });
  one("avg3s2p1", [](const Tensor& x) { return avg_pool2d(x, 3, 2, 1); });
  for (bool ac : {false, true}) {
    std::string tag = ac ? "ac1" : "ac0";
    InterpParams up{11, 13, InterpMode::Bilinear, ac, {}, {}};
    InterpParams down{4, 3, InterpMode::Bilinear, ac, {}, {}};
    one(("bilinear_up_" + tag).c_str(), [up](const Tensor& x) { return interpolate(x, up); });
    one(("bilinear_down_" + tag).c_str(), [down](const Tensor& x) { return interpolate(x, down); });
  }
  one("bilinear_scale_0.25", [](const Tensor& x) { return interpolate_scale(x, 0.25, InterpMode::Bilinear); });
  one("bilinear_scale_1.5", [](const Tensor& x) { return interpolate_scale(x, 1.5, InterpMode::Bilinear); });
  InterpParams near{9, 5, InterpMode::Nearest, false, {}, {}};
  one("nearest_size", [near](const Tensor& x) { return interpolate(x, near); });
  one("nearest_x2", [](const Tensor& x) { return upsample_nearest(x, 2); });
}

TEST_CASE("pooling, resampling, padding and losses: gradcheck") {
  Tensor x = random_tensor(Shape{1, 2, 5, 6}, 20);
  expect_gradients_match([](auto& t) { return avg_pool2d(t[0], 3, 2, 1); }, {x});
  // Non-overlapping windows (the CPU's row path), with rows and columns no window covers.
  expect_gradients_match([](auto& t) { return avg_pool2d(t[0], 2); }, {x});
  expect_gradients_match([](auto& t) { return avg_pool2d(t[0], 2, 3, 0); }, {x});
  expect_gradients_match([](auto& t) { return avg_pool2d(t[0], 3, 3, 1); }, {x});
  expect_gradients_match(
      [](auto& t) {
        return interpolate(t[0], InterpParams{7, 4, InterpMode::Bilinear, false, {}, {}});
      },
      {x});
  expect_gradients_match(
      [](auto& t) {
        return interpolate(t[0], InterpParams{3, 9, InterpMode::Bilinear, true, {}, {}});
      },
      {x});
  expect_gradients_match([](auto& t) { return upsample_nearest(t[0], 2); }, {x});
  expect_gradients_match([](auto& t) { return pad2d(t[0], 1, 2, 0, 3, 0.5f); }, {x});
  Tensor target = random_tensor(Shape{1, 2, 5, 6}, 21);
  expect_gradients_match([target](auto& t) { return mse_loss(t[0], target); }, {x});
  expect_gradients_match([target](auto& t) { return mse_loss(t[0], target, Reduction::Sum); }, {x});
  // l1 away from its kink: prediction and target differ everywhere by at least 0.1.
  expect_gradients_match([target](auto& t) { return l1_loss(t[0], target); }, {target + 0.5f});
  expect_gradients_match([](auto& t) { return linear(t[0], t[1], t[2]); },
                         {random_tensor(Shape{3, 4}, 22), random_tensor(Shape{5, 4}, 23), random_tensor(Shape{5}, 24)});
}

TEST_CASE("resampling values by hand, and errors") {
  Tensor x = tensor({1, 2, 3, 4}, Shape{1, 1, 2, 2});
  CHECK(upsample_nearest(x, 2).to_vector<float>() ==
        std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  CHECK(avg_pool2d(x, 2).item() == 2.5f);
  CHECK(pad2d(x, 1, 0, 0, 1, 9.f).to_vector<float>() == std::vector<float>{9, 9, 9, 1, 2, 9, 3, 4, 9});
  CHECK(interpolate(x, InterpParams{3, 3, InterpMode::Bilinear, true, {}, {}}).to_vector<float>() ==
        std::vector<float>{1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4});
  CHECK(l1_loss(x, x * 2.f).item() == 2.5f);
  CHECK(mse_loss(x, x * 2.f, Reduction::Sum).item() == 30.f);
  CHECK_THROWS_WITH_AS(avg_pool2d(x, 3), doctest::Contains("larger than the padded input"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, InterpParams{0, 3, InterpMode::Bilinear, false, {}, {}}),
                       doctest::Contains("output size 0x3 must be positive"), Error);
  CHECK_THROWS_WITH_AS(l1_loss(x, tensor({1}, Shape{1})),
                       doctest::Contains("l1_loss: prediction [1, 1, 2, 2] and target [1]"), Error);
  CHECK_THROWS_WITH_AS(pad2d(x, -1, 0, 0, 0), doctest::Contains("negative padding"), Error);
}

TEST_CASE("max_pool2d matches PyTorch (values, ties to the first, gradients)") {
  const SafetensorsFile& g = test::golden("pooling.safetensors");
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

TEST_CASE("max_pool2d 2x2 stride 2 on the CPU: the general window loop's maxima, indices and gradients, NaNs and ties") {
  // odd sizes (an uncovered last row and column), NaNs in every position of a window, ties
  Tensor x = random_tensor(Shape{2, 3, 9, 37}, 77);
  float* px = x.data<float>();
  for (int64_t i = 0; i < x.numel(); i += 7) px[i] = std::nanf("");
  for (int64_t i = 3; i < x.numel(); i += 11) px[i] = px[i - 1];
  Tensor gy = random_tensor(Shape{2, 3, 4, 18}, 78);
  gy.data<float>()[5] = -0.f;
  kernels::MaxPoolResult fast = kernels::max_pool2d(x, 2, 2, 0);
  Tensor dx_fast = kernels::max_pool2d_backward(gy, fast.indices, x.shape(), 2, 2, 0);
  bool before = kernels::set_max_pool_general_cpu(true);
  kernels::MaxPoolResult ref = kernels::max_pool2d(x, 2, 2, 0);
  Tensor dx_ref = kernels::max_pool2d_backward(gy, ref.indices, x.shape(), 2, 2, 0);
  kernels::set_max_pool_general_cpu(before);
  CHECK(test::bit_equal(fast.out, ref.out));
  CHECK(test::bit_equal(fast.indices, ref.indices));
  CHECK(test::bit_equal(dx_fast, dx_ref));
}

TEST_CASE("max_pool2d backward: gradcheck (overlapping windows, padding)") {
  // Distinct values at least 0.01 apart, so the finite-difference step never changes a window's
  // maximum: a shuffled ramp.
  Shape s{2, 3, 7, 6};
  std::vector<float> v(size_t(s.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.01f * float((i * 37) % v.size()) - 1.f;
  for (auto [k, st, p] :
       {std::tuple{2, 2, 0}, std::tuple{3, 2, 1}, std::tuple{3, 1, 1}, std::tuple{3, 3, 1}, std::tuple{2, 3, 0}}) {
    INFO("kernel " << k << " stride " << st << " padding " << p);
    expect_gradients_match([=](auto& x) { return max_pool2d(x[0], k, st, p); }, {tensor(v, s)});
  }
}

TEST_CASE("interpolate backward on the GPU: deterministic mode is bit-reproducible [cuda]") {
  REQUIRE_CUDA_OR_SKIP();
  bool previous = deterministic();
  set_deterministic(true);
  Tensor x = random_tensor(Shape{2, 3, 32, 32}, 81, -1, 1, Device::cuda());
  Tensor g = random_tensor(Shape{2, 3, 100, 90}, 82, -1, 1, Device::cuda());
  InterpParams p{100, 90, InterpMode::Bilinear, false, {}, {}};
  Tensor a = kernels::interpolate_backward(g, x.shape(), p);
  Tensor b = kernels::interpolate_backward(g, x.shape(), p);
  set_deterministic(previous);
  CHECK(test::bit_equal(a, b));
  CHECK_CLOSE(raw::to_device(a, Device::cpu()),
              kernels::interpolate_backward(raw::to_device(g, Device::cpu()), x.shape(), p), 1e-5, 1e-5);
}

PARITY("avg_pool2d", 1e-6, 1e-5, ({random_tensor(Shape{2, 3, 15, 16}, 77)}), avg_pool2d(x[0], 3, 2, 1))

// Non-overlapping windows with an uncovered last row/column: the CPU's row path.
PARITY("avg_pool2d_non_overlapping", 1e-6, 1e-5, ({random_tensor(Shape{2, 3, 15, 16}, 81)}), avg_pool2d(x[0], 3, 3, 1))

PARITY("interpolate_bilinear", 1e-5, 1e-4, ({random_tensor(Shape{2, 3, 13, 17}, 78)}),
       interpolate(x[0], InterpParams{32, 40, InterpMode::Bilinear, false, {}, {}}))

PARITY("interpolate_bilinear_align_corners_down", 1e-5, 1e-4, ({random_tensor(Shape{2, 3, 64, 48}, 79)}),
       interpolate(x[0], InterpParams{16, 12, InterpMode::Bilinear, true, {}, {}}))

PARITY("interpolate_nearest_and_pad", 1e-6, 1e-5, ({random_tensor(Shape{1, 4, 9, 7}, 80)}),
       pad2d(upsample_nearest(x[0], 2), 1, 2, 3, 0, -1.f))

PARITY("max_pool2d", 0, 0, ({random_tensor(Shape{2, 4, 17, 16}, 100)}), max_pool2d(x[0], 3, 2, 1))

PARITY("max_pool2d_non_overlapping", 0, 0, ({random_tensor(Shape{2, 4, 17, 16}, 105)}), max_pool2d(x[0], 2, 2, 0))

}  // TEST_SUITE
