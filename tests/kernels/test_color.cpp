
#include "kernels/color.h"
#include "tests/parity.h"
#include "tests/test_util.h"

using namespace anima;
using test::random_tensor;
namespace K = anima::kernels;

TEST_SUITE("kernels") {

TEST_CASE("colour operations match torchvision's functional ops") {
  SafetensorsFile g = load_safetensors(test::golden_path("color.safetensors"));
  Tensor img = g.at("img");
  CHECK_CLOSE(K::adjust_color(img, K::ColorOp::Brightness, 1.3f), g.at("brightness_1.3"), 1e-6, 1e-6);
  CHECK_CLOSE(K::adjust_color(img, K::ColorOp::Contrast, 0.6f), g.at("contrast_0.6"), 1e-6, 1e-5);
  CHECK_CLOSE(K::adjust_color(img, K::ColorOp::Saturation, 1.7f), g.at("saturation_1.7"), 1e-6, 1e-5);
  CHECK_CLOSE(K::adjust_color(img, K::ColorOp::Saturation, 0.2f), g.at("saturation_0.2"), 1e-6, 1e-5);
  CHECK_CLOSE(K::adjust_color(img, K::ColorOp::Hue, 0.1f), g.at("hue_0.1"), 1e-5, 1e-5);
  CHECK_CLOSE(K::adjust_color(img, K::ColorOp::Hue, -0.35f), g.at("hue_-0.35"), 1e-5, 1e-5);
  K::ColorJitterParams p;
  for (int s = 0; s < 2; ++s) {
    p.order.push_back({K::ColorOp::Hue, K::ColorOp::Saturation, K::ColorOp::Brightness, K::ColorOp::Contrast});
    p.factor.push_back({0.8f, 1.4f, 0.5f, 0.2f});
  }
  CHECK_CLOSE(K::color_jitter(img, p), g.at("composed"), 1e-5, 1e-5);
}

TEST_CASE("colour jitter draws: ranges, permutations, reproducibility") {
  Generator g1(3), g2(3);
  K::ColorJitterParams a = K::draw_color_jitter(200, 0.1f, 0.2f, 0.3f, 0.05f, g1);
  K::ColorJitterParams b = K::draw_color_jitter(200, 0.1f, 0.2f, 0.3f, 0.05f, g2);
  CHECK(a.factor == b.factor);
  int first_hue = 0;
  for (size_t s = 0; s < 200; ++s) {
    CHECK(a.factor[s][0] >= 0.9f);
    CHECK(a.factor[s][0] <= 1.1f);
    CHECK(a.factor[s][2] >= 0.7f);
    CHECK(a.factor[s][3] >= -0.05f);
    CHECK(a.factor[s][3] <= 0.05f);
    auto o = a.order[s];
    std::sort(o.begin(), o.end());
    CHECK(o == std::array<K::ColorOp, 4>{K::ColorOp::Brightness, K::ColorOp::Contrast, K::ColorOp::Saturation,
                                         K::ColorOp::Hue});
    first_hue += a.order[s][0] == K::ColorOp::Hue;
  }
  CHECK(first_hue > 25);  // each op leads about a quarter of the time
  CHECK(first_hue < 80);
  Tensor img = test::random_tensor(Shape{200, 3, 4, 4}, 1, 0, 1);
  Tensor out = K::color_jitter(img, a);
  auto ov = out.to_vector<float>();
  CHECK(*std::min_element(ov.begin(), ov.end()) >= 0.f);
  CHECK(*std::max_element(ov.begin(), ov.end()) <= 1.f);
  CHECK_THROWS_WITH_AS(K::draw_color_jitter(1, 0, 0, 0, 0.7f, g1), doctest::Contains("hue <= 0.5"), Error);
  CHECK_THROWS_WITH_AS(K::color_jitter(Tensor::zeros(Shape{1, 1, 2, 2}), a), doctest::Contains("expected RGB images"),
                       Error);
}

PARITY("color_jitter", 1e-5, 1e-5, ({random_tensor(Shape{6, 3, 32, 32}, 112, 0, 1)}), [&] {
  Generator gen(16);
  return kernels::color_jitter(x[0].detach(), kernels::draw_color_jitter(6, 0.3f, 0.3f, 0.3f, 0.1f, gen));
}())

}  // TEST_SUITE
