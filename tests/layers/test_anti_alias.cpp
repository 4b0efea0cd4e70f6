// Anti-aliased downsampling (layers/anti_alias.h): FOMM's formula and pyramid names.

#include "layers/anti_alias.h"
#include "tests/parity.h"
#include "tests/test_util.h"

using namespace anima;
using test::random_tensor;

TEST_SUITE("kernels") {

TEST_CASE("anti-alias downsampling matches FOMM's formula; pyramid names are FOMM's") {
  const SafetensorsFile& g = test::golden("pooling.safetensors");
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
