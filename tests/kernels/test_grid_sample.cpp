#include "autograd/nn_functions.h"
#include "tests/parity.h"
#include "tests/test_util.h"

using namespace anima;
using test::random_tensor;
using test::tensor;

TEST_SUITE("kernels") {

TEST_CASE("grid_sample matches PyTorch: both modes, three paddings, both align_corners") {
  SafetensorsFile g = load_safetensors(test::golden_path("grid_sample.safetensors"));
  for (GridMode mode : {GridMode::Bilinear, GridMode::Nearest})
    for (GridPadding pad : {GridPadding::Zeros, GridPadding::Border, GridPadding::Reflection})
      for (bool ac : {false, true}) {
        std::string name = std::string(mode == GridMode::Bilinear ? "bilinear" : "nearest") + "_" +
                           (pad == GridPadding::Zeros    ? "zeros"
                            : pad == GridPadding::Border ? "border"
                                                         : "reflection") +
                           "_ac" + (ac ? "1" : "0");
        INFO("case " << name);
        Tensor x = raw::to_device(g.at(name + ".x"), Device::cpu());
        Tensor grid = raw::to_device(g.at(name + ".grid"), Device::cpu());
        x.set_requires_grad(true);
        grid.set_requires_grad(true);
        Tensor y = grid_sample(x, grid, GridSampleOptions{mode, pad, ac});
        CHECK_CLOSE(y, g.at(name + ".y"), 1e-5, 1e-5);
        y.backward(g.at(name + ".gy"));
        CHECK_CLOSE(x.grad(), g.at(name + ".grad_x"), 1e-5, 1e-5);
        CHECK_CLOSE(grid.grad(), g.at(name + ".grad_grid"), 1e-4, 1e-4);
      }
}

TEST_CASE("grid_sample: identity grid reproduces the input; gradcheck in input and grid") {
  // With align_corners, the grid of pixel centres samples every pixel exactly.
  Tensor x = random_tensor(Shape{1, 2, 3, 4}, 1);
  std::vector<float> grid;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) {
      grid.push_back(-1.f + 2.f * j / 3.f);
      grid.push_back(-1.f + 2.f * i / 2.f);
    }
  CHECK_CLOSE(
      grid_sample(x, tensor(grid, Shape{1, 3, 4, 2}), GridSampleOptions{GridMode::Bilinear, GridPadding::Zeros, true}),
      x, 1e-6, 1e-6);
  for (GridPadding pad : {GridPadding::Zeros, GridPadding::Border, GridPadding::Reflection}) {
    std::vector<Tensor> in{random_tensor(Shape{2, 2, 4, 5}, 2), random_tensor(Shape{2, 3, 3, 2}, 3, -1.1f, 1.1f)};
    for (Tensor& t : in) t.set_requires_grad(true);
    GradcheckOptions opt;
    opt.step = 1e-3f;
    GradcheckResult r = gradcheck(
        [pad](auto& t) {
          return grid_sample(t[0], t[1], GridSampleOptions{GridMode::Bilinear, pad, false});
        },
        in, opt);
    CHECK_MESSAGE(r.ok, r.report);
  }
  CHECK_THROWS_WITH_AS(grid_sample(x, Tensor::zeros(Shape{1, 3, 4, 3})), doctest::Contains("grid [N, Ho, Wo, 2]"),
                       Error);
  CHECK_THROWS_WITH_AS(grid_sample(x, Tensor::zeros(Shape{2, 3, 4, 2})),
                       doctest::Contains("grid_sample: expected input"), Error);
}

TEST_CASE("grid_sample: the CPU's blocked path gives the per-pixel bodies' bits, forward and both gradients") {
  // 23 x 29 = 667 output pixels: two full blocks of 256 and a part; grid values past [-1, 1]
  Tensor x = test::random_tensor({2, 5, 13, 11}, 1);
  Tensor grid = test::random_tensor({2, 23, 29, 2}, 2, -1.3f, 1.3f);
  Tensor g = test::random_tensor({2, 5, 23, 29}, 3);
  for (GridMode mode : {GridMode::Bilinear, GridMode::Nearest})
    for (GridPadding pad : {GridPadding::Zeros, GridPadding::Border, GridPadding::Reflection})
      for (bool ac : {false, true}) {
        GridSampleOptions o{mode, pad, ac};
        INFO("mode ", int(mode), " padding ", int(pad), " align_corners ", ac);
        Tensor y = kernels::grid_sample(x, grid, o);
        kernels::GridSampleGrads d = kernels::grid_sample_backward(g, x, grid, o, true, true);
        bool before = kernels::set_grid_sample_pixelwise_cpu(true);
        Tensor y_ref = kernels::grid_sample(x, grid, o);
        kernels::GridSampleGrads d_ref = kernels::grid_sample_backward(g, x, grid, o, true, true);
        kernels::set_grid_sample_pixelwise_cpu(before);
        CHECK(test::bit_equal(y, y_ref));
        CHECK(test::bit_equal(d.input, d_ref.input));
        CHECK(test::bit_equal(d.grid, d_ref.grid));
      }
}

TEST_CASE("grid_sample backward on the GPU: deterministic mode is bit-reproducible [cuda]") {
  REQUIRE_CUDA_OR_SKIP();
  bool previous = deterministic();
  set_deterministic(true);
  Tensor x = random_tensor(Shape{2, 8, 32, 32}, 96, -1, 1, Device::cuda());
  Tensor grid = random_tensor(Shape{2, 64, 64, 2}, 97, -1, 1, Device::cuda());
  Tensor g = random_tensor(Shape{2, 8, 64, 64}, 98, -1, 1, Device::cuda());
  auto a = kernels::grid_sample_backward(g, x, grid, {}, true, true);
  auto b = kernels::grid_sample_backward(g, x, grid, {}, true, true);
  set_deterministic(previous);
  CHECK(test::bit_equal(a.input, b.input));
  CHECK(test::bit_equal(a.grid, b.grid));
  // and equal to the CPU's gradients within float tolerance
  auto c = kernels::grid_sample_backward(raw::to_device(g, Device::cpu()), raw::to_device(x, Device::cpu()),
                                         raw::to_device(grid, Device::cpu()), {}, true, true);
  CHECK_CLOSE(raw::to_device(a.input, Device::cpu()), c.input, 1e-5, 1e-4);
  CHECK_CLOSE(raw::to_device(a.grid, Device::cpu()), c.grid, 1e-5, 1e-4);
}

// Image-animation kernels (issue 4).
PARITY("grid_sample_bilinear_zeros", 1e-5, 1e-4,
       ({random_tensor(Shape{2, 4, 16, 12}, 90), random_tensor(Shape{2, 10, 9, 2}, 91, -1.2f, 1.2f)}),
       grid_sample(x[0], x[1], GridSampleOptions{GridMode::Bilinear, GridPadding::Zeros, false}))

PARITY("grid_sample_bilinear_reflection_ac", 1e-5, 1e-4,
       ({random_tensor(Shape{2, 3, 8, 8}, 92), random_tensor(Shape{2, 8, 8, 2}, 93, -1.5f, 1.5f)}),
       grid_sample(x[0], x[1], GridSampleOptions{GridMode::Bilinear, GridPadding::Reflection, true}))

PARITY("grid_sample_nearest_border", 1e-6, 1e-5,
       ({random_tensor(Shape{1, 3, 9, 7}, 94), random_tensor(Shape{1, 5, 6, 2}, 95, -1.2f, 1.2f)}),
       grid_sample(x[0], x[1], GridSampleOptions{GridMode::Nearest, GridPadding::Border, false}))

}  // TEST_SUITE
