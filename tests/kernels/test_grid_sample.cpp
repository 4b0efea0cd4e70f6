#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "autograd/nn_functions.h"
#include "formats/safetensors.h"
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
                           (pad == GridPadding::Zeros ? "zeros" : pad == GridPadding::Border ? "border" : "reflection") +
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
  CHECK_CLOSE(grid_sample(x, tensor(grid, Shape{1, 3, 4, 2}), GridSampleOptions{GridMode::Bilinear, GridPadding::Zeros, true}),
              x, 1e-6, 1e-6);
  for (GridPadding pad : {GridPadding::Zeros, GridPadding::Border, GridPadding::Reflection}) {
    std::vector<Tensor> in{random_tensor(Shape{2, 2, 4, 5}, 2), random_tensor(Shape{2, 3, 3, 2}, 3, -1.1f, 1.1f)};
    for (Tensor& t : in) t.set_requires_grad(true);
    GradcheckOptions opt;
    opt.step = 1e-3f;
    GradcheckResult r = gradcheck([pad](auto& t) { return grid_sample(t[0], t[1], GridSampleOptions{GridMode::Bilinear, pad, false}); },
                                  in, opt);
    CHECK_MESSAGE(r.ok, r.report);
  }
  CHECK_THROWS_WITH_AS(grid_sample(x, Tensor::zeros(Shape{1, 3, 4, 3})), doctest::Contains("grid [N, Ho, Wo, 2]"), Error);
  CHECK_THROWS_WITH_AS(grid_sample(x, Tensor::zeros(Shape{2, 3, 4, 2})), doctest::Contains("grid_sample: expected input"), Error);
}

}  // TEST_SUITE
