// Image metrics (kernels/metrics.h): hand-computed values, a PyTorch golden for SSIM and the
// masked variants, identical images, errors, and CUDA-vs-CPU parity.
#include <cmath>

#include "formats/safetensors.h"
#include "kernels/metrics.h"
#include "tests/test_util.h"

using namespace anima;
namespace K = anima::kernels;
using test::tensor;

namespace {

Tensor constant_image(float v, const Shape& s) { return Tensor::full(s, v); }

}  // namespace

TEST_SUITE("kernels.metrics") {

TEST_CASE("metrics: L1, MSE and PSNR by hand, whole image and masked regions") {
  Tensor a = tensor({0.f, 0.5f, 1.f, 0.25f}, Shape{1, 1, 2, 2});
  Tensor b = Tensor::full(Shape{1, 1, 2, 2}, 0.5);
  Tensor m = tensor({1.f, 0.f, 1.f, 0.f}, Shape{1, 1, 2, 2});
  CHECK(K::l1_per_image(a, b).item() == doctest::Approx(1.25 / 4));
  Tensor mse = K::mse_per_image(a, b);
  CHECK(mse.item() == doctest::Approx(0.5625 / 4));
  CHECK(K::psnr_from_mse(mse).item() == doctest::Approx(-10 * std::log10(0.140625)).epsilon(1e-6));
  // Salient: only the pixels under the mask differ, averaged over the whole image (4 pixels).
  CHECK(K::l1_per_image(a, b, m, K::MetricRegion::Salient).item() == doctest::Approx(0.25));
  CHECK(K::l1_per_image(a, b, m, K::MetricRegion::NonSalient).item() == doctest::Approx(0.0625));
  CHECK(K::mse_per_image(a, b, m, K::MetricRegion::Salient).item() == doctest::Approx(0.125));
  CHECK(K::mse_per_image(a, b, m, K::MetricRegion::NonSalient).item() == doctest::Approx(0.015625));
  // A soft mask weighs both images: w a - w b = w (a - b).
  Tensor half = Tensor::full(Shape{1, 1, 2, 2}, 0.5);
  CHECK(K::l1_per_image(a, b, half, K::MetricRegion::Salient).item() == doctest::Approx(0.3125 / 2));
}

TEST_CASE("metrics: one value per image, channels averaged") {
  // Image 0 differs by 0.1 in channel 0 only, image 1 by 0.2 everywhere.
  Tensor a = Tensor::zeros(Shape{2, 3, 4, 5});
  std::vector<float> bv(2 * 3 * 20, 0.2f);
  for (int i = 0; i < 60; ++i) bv[size_t(i)] = i < 20 ? 0.1f : 0.f;
  Tensor b = tensor(bv, Shape{2, 3, 4, 5});
  CHECK_CLOSE(K::l1_per_image(a, b), tensor({0.1f / 3, 0.2f}, Shape{2}), 1e-7, 1e-6);
  CHECK_CLOSE(K::mse_per_image(a, b), tensor({0.01f / 3, 0.04f}, Shape{2}), 1e-8, 1e-6);
}

// Without a mask the terms are the plain differences; with a mask of ones they are 1 * x - 1 * y,
// which is x - y: the same bits, summed over several 4096-element chunks.
TEST_CASE("metrics: L1 and MSE without a mask have the bits of the masked path with a mask of ones") {
  Tensor a = test::random_tensor(Shape{3, 3, 50, 47}, 7, 0, 1), b = test::random_tensor(Shape{3, 3, 50, 47}, 8, 0, 1);
  Tensor ones = Tensor::ones(Shape{3, 1, 50, 47});
  CHECK(test::bit_equal(K::l1_per_image(a, b), K::l1_per_image(a, b, ones, K::MetricRegion::Salient)));
  CHECK(test::bit_equal(K::mse_per_image(a, b), K::mse_per_image(a, b, ones, K::MetricRegion::Salient)));
}

TEST_CASE("metrics: identical images give L1 0, PSNR +inf, SSIM exactly 1") {
  Tensor a = test::random_tensor(Shape{2, 3, 16, 16}, 5, 0, 1);
  Tensor m = test::random_tensor(Shape{2, 1, 16, 16}, 6, 0, 1);
  CHECK(K::l1_per_image(a, a).to_vector<float>() == std::vector<float>{0, 0});
  std::vector<float> psnr = K::psnr_from_mse(K::mse_per_image(a, a)).to_vector<float>();
  CHECK(std::isinf(psnr[0]));
  CHECK(psnr[0] > 0);
  CHECK(K::ssim_per_image(a, a).to_vector<float>() == std::vector<float>{1, 1});
  CHECK(K::ssim_per_image(a, a, m, K::MetricRegion::Salient).to_vector<float>() == std::vector<float>{1, 1});
  CHECK(K::ssim_per_image(a, a, m, K::MetricRegion::NonSalient).to_vector<float>() == std::vector<float>{1, 1});
}

TEST_CASE("metrics: SSIM of two constant images by hand") {
  // No variance: SSIM = (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1) times C2 / C2.
  Tensor a = constant_image(0.2f, Shape{1, 3, 12, 13}), b = constant_image(0.6f, Shape{1, 3, 12, 13});
  double c1 = 1e-4, expected = (2 * 0.2 * 0.6 + c1) / (0.04 + 0.36 + c1);
  // Float32 moments: s^2 = E[x^2] - mu^2 cancels to a few ulp of mu^2 (the float taps do not
  // sum to exactly 1), which C2 = 9e-4 then divides: |error| <~ (mu_a^2 + mu_b^2) * 2^-20 / C2.
  CHECK(std::abs(K::ssim_per_image(a, b).item() - expected) <= 0.4 * std::ldexp(1.0, -20) / 9e-4);
  float taps[K::kSsimWindow];
  K::ssim_gaussian_taps(taps);
  double total = 0;
  for (float t : taps) total += t;
  CHECK(total == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(taps[5] == doctest::Approx(0.26601172));  // exp(0) / sum_k exp(-k^2 / 4.5)
  CHECK(taps[0] == taps[10]);
}

TEST_CASE("metrics: L1, MSE, SSIM and masked variants match the PyTorch golden") {
  SafetensorsFile g = load_safetensors(test::golden_path("metrics.safetensors"));
  Tensor a = g.at("a"), b = g.at("b"), m = g.at("mask");
  struct Region {
    const char* name;
    K::MetricRegion region;
  };
  for (Region r : {Region{"all", K::MetricRegion::All}, Region{"salient", K::MetricRegion::Salient},
                   Region{"nonsalient", K::MetricRegion::NonSalient}}) {
    INFO("region " << r.name);
    std::string n = r.name;
    CHECK_CLOSE(K::l1_per_image(a, b, m, r.region), g.at("l1_" + n), 1e-7, 1e-5);
    CHECK_CLOSE(K::mse_per_image(a, b, m, r.region), g.at("mse_" + n), 1e-8, 1e-5);
    CHECK_CLOSE(K::ssim_per_image(a, b, m, r.region), g.at("ssim_" + n), 1e-5, 1e-5);
  }
}

TEST_CASE("metrics: foreground segmentation against a known background, and IoU") {
  Tensor bg = Tensor::full(Shape{3, 2, 3}, 0.5);
  // Pixel 0 differs by 0.2 in all channels (distance 0.346), pixel 1 by 0.05 in one (0.05).
  std::vector<float> f(18, 0.5f);
  for (int c = 0; c < 3; ++c) f[size_t(c * 6)] = 0.7f;
  f[1] = 0.55f;
  Tensor frames = tensor(f, Shape{1, 3, 2, 3});
  Tensor fg = K::segment_foreground(frames, bg, 0.1f);
  CHECK(fg.to_vector<float>() == std::vector<float>{1, 0, 0, 0, 0, 0});
  CHECK(K::segment_foreground(frames, bg, 0.01f).to_vector<float>() == std::vector<float>{1, 1, 0, 0, 0, 0});
  Tensor p = tensor({1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0}, Shape{3, 1, 2, 2});
  Tensor t = tensor({1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0}, Shape{3, 1, 2, 2});
  // 1/2 (one common pixel of two), a perfect match, two empty masks (counted as 1).
  CHECK(K::mask_iou(p, t).to_vector<float>() == std::vector<float>{0.5f, 1, 1});
  CHECK(K::mask_iou(p, Tensor::zeros(Shape{3, 1, 2, 2})).to_vector<float>() == std::vector<float>{0, 0, 1});
}

TEST_CASE("metrics: bad inputs are errors naming the shapes") {
  Tensor a = Tensor::zeros(Shape{1, 3, 16, 16});
  CHECK_THROWS_WITH_AS(K::l1_per_image(a, Tensor::zeros(Shape{1, 3, 16, 15})),
                       doctest::Contains("[1, 3, 16, 16] and [1, 3, 16, 15] differ"), Error);
  CHECK_THROWS_WITH_AS(K::ssim_per_image(Tensor::zeros(Shape{1, 3, 10, 16}), Tensor::zeros(Shape{1, 3, 10, 16})),
                       doctest::Contains("smaller than the 11x11 window"), Error);
  CHECK_THROWS_WITH_AS(K::mse_per_image(a, a, Tensor(), K::MetricRegion::Salient), doctest::Contains("needs a mask"),
                       Error);
  CHECK_THROWS_WITH_AS(K::ssim_per_image(a, a, Tensor::zeros(Shape{1, 3, 16, 16}), K::MetricRegion::Salient),
                       doctest::Contains("expected [N, 1, H, W]"), Error);
  CHECK_THROWS_WITH_AS(K::segment_foreground(a, Tensor::zeros(Shape{3, 8, 8}), 0.1f),
                       doctest::Contains("matches neither"), Error);
}

TEST_CASE("metrics: CUDA-vs-CPU parity [cuda]") {
  REQUIRE_CUDA_OR_SKIP();
  Tensor a = test::random_tensor(Shape{3, 3, 37, 29}, 11, 0, 1);
  Tensor b = test::random_tensor(Shape{3, 3, 37, 29}, 12, 0, 1);
  Tensor m = test::random_tensor(Shape{3, 1, 37, 29}, 13, 0, 1);
  Device gpu = Device::cuda();
  Tensor ga = a.to(gpu), gb = b.to(gpu), gm = m.to(gpu);
  for (K::MetricRegion r : {K::MetricRegion::All, K::MetricRegion::Salient, K::MetricRegion::NonSalient}) {
    INFO("region " << int(r));
    CHECK_CLOSE(K::l1_per_image(ga, gb, gm, r).to(Device::cpu()), K::l1_per_image(a, b, m, r), 1e-5, 1e-5);
    Tensor mse = K::mse_per_image(a, b, m, r), gmse = K::mse_per_image(ga, gb, gm, r);
    CHECK_CLOSE(gmse.to(Device::cpu()), mse, 1e-5, 1e-5);
    CHECK_CLOSE(K::psnr_from_mse(gmse).to(Device::cpu()), K::psnr_from_mse(mse), 1e-4, 0);
    CHECK_CLOSE(K::ssim_per_image(ga, gb, gm, r).to(Device::cpu()), K::ssim_per_image(a, b, m, r), 1e-5, 1e-5);
  }
  CHECK(test::bit_equal(K::segment_foreground(ga, gb, 0.3f).to(Device::cpu()), K::segment_foreground(a, b, 0.3f)));
  Tensor p = K::segment_foreground(a, b, 0.3f), t = K::segment_foreground(a, b, 0.5f);
  CHECK(test::bit_equal(K::mask_iou(p.to(gpu), t.to(gpu)).to(Device::cpu()), K::mask_iou(p, t)));
}

}  // TEST_SUITE
