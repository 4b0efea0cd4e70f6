// Poisson noise, order statistics, mask perturbations, CutMix and PriorityCut masks.

#include <tuple>

#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "kernels/augment.h"
#include "kernels/elementwise.h"
#include "kernels/select.h"
#include "tests/parity.h"
#include "tests/test_util.h"

using namespace anima;
namespace K = anima::kernels;
using test::random_tensor;
using test::tensor;

namespace {
// A soft blob in the middle of each mask.
Tensor blob_masks(int64_t n, int64_t h, int64_t w) {
  std::vector<float> v;
  for (int64_t s = 0; s < n; ++s)
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < w; ++j) {
        double dy = (i - h / 2.0) / (h / 5.0), dx = (j - w / 2.0) / (w / 4.0);
        v.push_back(float(std::exp(-0.5 * (dx * dx + dy * dy))));
      }
  return tensor(v, Shape{n, 1, h, w});
}
}  // namespace

TEST_SUITE("kernels") {

TEST_CASE("Poisson samples: mean, variance, goodness of fit, determinism (lambda 20 and 100)") {
  const int64_t n = 200000;
  Tensor p = K::poisson(Shape{n}, 20.0, 5, 1);
  auto v = p.to_vector<float>();
  double mean = 0, var = 0;
  std::map<int, int64_t> hist;
  for (float x : v) {
    mean += x;
    hist[int(x)]++;
    CHECK_MESSAGE(x == std::floor(x), "non-integer count");
  }
  mean /= n;
  for (float x : v) var += (x - mean) * (x - mean);
  var /= n;
  CHECK(std::fabs(mean - 20.0) < 5 * std::sqrt(20.0 / n));
  CHECK(std::fabs(var - 20.0) < 0.5);
  // Chi-square against the Poisson(20) pmf over 8..32 plus the two tails.
  double chi2 = 0, cdf_lo = 0;
  auto pmf = [](int k) { return std::exp(-20.0 + k * std::log(20.0) - std::lgamma(k + 1.0)); };
  for (int k = 0; k < 8; ++k) cdf_lo += pmf(k);
  int64_t lo_count = 0, hi_count = 0;
  for (auto& [k, c] : hist) {
    if (k < 8) lo_count += c;
    if (k > 32) hi_count += c;
  }
  double expect_lo = n * cdf_lo, cdf_hi = 1 - cdf_lo;
  chi2 += (lo_count - expect_lo) * (lo_count - expect_lo) / expect_lo;
  for (int k = 8; k <= 32; ++k) {
    double e = n * pmf(k);
    cdf_hi -= pmf(k);
    chi2 += (hist[k] - e) * (hist[k] - e) / e;
  }
  double expect_hi = n * cdf_hi;
  chi2 += (hi_count - expect_hi) * (hi_count - expect_hi) / expect_hi;
  CHECK(chi2 < 60.0);  // 26 degrees of freedom: the 99.9% quantile is about 54.1
  CHECK(test::bit_equal(p, K::poisson(Shape{n}, 20.0, 5, 1)));
  CHECK(!test::bit_equal(p, K::poisson(Shape{n}, 20.0, 5, 2)));
  auto big = K::poisson(Shape{50000}, 100.0, 6, 0).to_vector<float>();
  double m2 = 0;
  for (float x : big) m2 += x;
  CHECK(std::fabs(m2 / 50000 - 100.0) < 0.3);
  CHECK(K::poisson(Shape{3}, 0.0, 1, 1).to_vector<float>() == std::vector<float>{0, 0, 0});
  CHECK_THROWS_WITH_AS(K::poisson(Shape{1}, -1.0, 1, 1), doctest::Contains("lambda must be in"), Error);
}

// The CPU runs 16 elements in lockstep; the per-element body (the GPU's) is its oracle: every
// count the same, for one part and several (lambda > 32), a partial last block and lambda 0.
TEST_CASE("poisson: the CPU's lockstep lanes give the per-element counts") {
  for (auto [n, lambda, seed, stream] : {std::tuple{int64_t(8192), 20.0, uint64_t(3), uint64_t(1)},
                                         std::tuple{int64_t(1001), 150.0, uint64_t(4), uint64_t(9)},
                                         std::tuple{int64_t(37), 0.5, uint64_t(5), uint64_t(2)},
                                         std::tuple{int64_t(5), 0.0, uint64_t(6), uint64_t(3)}}) {
    INFO("n " << n << " lambda " << lambda);
    Tensor lanes = K::poisson(Shape{n}, lambda, seed, stream);
    bool before = K::set_poisson_per_element_cpu(true);
    Tensor each = K::poisson(Shape{n}, lambda, seed, stream);
    K::set_poisson_per_element_cpu(before);
    CHECK(test::bit_equal(lanes, each));
  }
}

TEST_CASE("mask noise, thresholding and scaling") {
  Tensor m = blob_masks(2, 32, 32);
  Generator gen(3);
  Tensor noisy = K::mask_poisson_noise(m, 20.0, gen);
  auto a = m.to_vector<float>(), b = noisy.to_vector<float>();
  int up = 0, down = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    REQUIRE(b[i] >= 0.f);
    REQUIRE(b[i] <= 1.f);
    if (b[i] > a[i]) ++up;
    if (b[i] < a[i]) ++down;
  }
  CHECK(up > 300);
  CHECK(down > 300);
  Tensor t = K::threshold_masks(m, K::row_median(reshape(m, {2, -1})));
  auto tv = t.to_vector<float>();
  // About half of each mask lies below its median (fewer where values tie with the median).
  CHECK(std::count(tv.begin(), tv.end(), 0.f) >= int64_t(tv.size() * 45 / 100));
  CHECK(std::count(tv.begin(), tv.end(), 0.f) <= int64_t(tv.size() / 2));
  // Shrinking by 0.75 about the centre scales the mask's mass by about 0.75^2.
  Tensor shrunk = K::scale_masks(m, K::full(Shape{2, 2}, 0.75));
  CHECK(sum(shrunk).item() / sum(m).item() == doctest::Approx(0.5625).epsilon(0.03));
  Tensor pt = K::perturb_test(m, K::full(Shape{2}, 0.5));
  CHECK(pt.shape() == m.shape());
  CHECK(sum(pt).item() < sum(K::threshold_masks(m, K::full(Shape{2}, 0.5))).item());
  CHECK_THROWS_WITH_AS(K::threshold_masks(m, K::full(Shape{3}, 0.5)), doctest::Contains("does not match 2 masks"),
                       Error);
}

TEST_CASE("P_train: bounded, reproducible per seed, different per sample, changes the mask") {
  Tensor m = blob_masks(3, 64, 64);
  Tensor thr = K::row_median(reshape(m, {3, -1}));
  Generator g1(9), g2(9);
  Tensor a = K::perturb_train(m, thr, 20.0, g1), b = K::perturb_train(m, thr, 20.0, g2);
  CHECK(test::bit_equal(a, b));
  CHECK(a.shape() == m.shape());
  CHECK(amin(a).item() >= 0.f);
  CHECK(amax(a).item() <= 1.f);
  Tensor s0 = slice(a, 0, 0, 1), s1 = slice(a, 0, 1, 2);
  CHECK(mean_abs_diff(s0, s1).item() > 0.01f);  // same input mask, different perturbation
  CHECK(mean_abs_diff(a, m).item() > 0.01f);
  Generator g3(1);
  CHECK_THROWS_WITH_AS(K::perturb_train(blob_masks(1, 8, 8), K::full(Shape{1}, 0.1), 20.0, g3),
                       doctest::Contains("too small"), Error);
}

TEST_CASE("P_train's scale jitter and P_test's scale") {
  Tensor m = blob_masks(3, 64, 64);
  Tensor thr = K::row_median(reshape(m, {3, -1}));
  // The default jitter is the paper's 0.25: passing it explicitly draws the same perturbation.
  Generator g1(5), g2(5);
  CHECK(test::bit_equal(K::perturb_train(m, thr, 0.0, g1), K::perturb_train(m, thr, 0.0, g2, 0.25)));
  // Jitter 0 without noise leaves every factor 1: the result is the thresholded mask.
  Generator g3(5);
  CHECK(mean_abs_diff(K::perturb_train(m, thr, 0.0, g3, 0.0), K::threshold_masks(m, thr)).item() < 1e-6f);
  // A smaller jitter moves the mask less, on average over many draws.
  Generator g4(6), g5(6);
  double small = 0, large = 0;
  for (int k = 0; k < 8; ++k) {
    small += mean_abs_diff(K::perturb_train(m, thr, 0.0, g4, 0.05), K::threshold_masks(m, thr)).item();
    large += mean_abs_diff(K::perturb_train(m, thr, 0.0, g5, 0.25), K::threshold_masks(m, thr)).item();
  }
  CHECK(small < 0.5 * large);
  Generator g6(1);
  CHECK_THROWS_WITH_AS(K::perturb_train(m, thr, 0.0, g6, 1.0), doctest::Contains("jitter must be in [0, 1)"), Error);
  // P_test: the default shrink is 0.75; scale 1 only thresholds.
  Tensor half = K::full(Shape{3}, 0.5);
  CHECK(test::bit_equal(K::perturb_test(m, half), K::perturb_test(m, half, 0.75)));
  CHECK(mean_abs_diff(K::perturb_test(m, half, 1.0), K::threshold_masks(m, half)).item() < 1e-6f);
  CHECK(sum(K::perturb_test(m, half, 0.9)).item() > sum(K::perturb_test(m, half, 0.75)).item());
  CHECK_THROWS_WITH_AS(K::perturb_test(m, half, 0.0), doctest::Contains("scale must be positive"), Error);
}

TEST_CASE("CutMix: box masks and the differentiable mix") {
  Generator gen(4);
  Tensor boxes = K::cutmix_box_mask(64, 16, 20, gen);
  auto v = boxes.to_vector<float>();
  double area = 0;
  for (int64_t s = 0; s < 64; ++s) {
    int64_t y0 = 16, y1 = -1, x0 = 20, x1 = -1, ones = 0;
    for (int64_t i = 0; i < 16; ++i)
      for (int64_t j = 0; j < 20; ++j)
        if (v[size_t((s * 16 + i) * 20 + j)] == 1.f) {
          ++ones;
          y0 = std::min(y0, i), y1 = std::max(y1, i), x0 = std::min(x0, j), x1 = std::max(x1, j);
        }
    if (ones > 0) CHECK(ones == (y1 - y0 + 1) * (x1 - x0 + 1));  // a filled rectangle
    area += double(ones) / (16 * 20);
  }
  CHECK(area / 64 > 0.1);
  CHECK(area / 64 < 0.6);
  Tensor a = random_tensor(Shape{2, 3, 4, 4}, 5), b = random_tensor(Shape{2, 3, 4, 4}, 6);
  Tensor mask = K::cutmix_box_mask(2, 4, 4, gen);
  Tensor mixed = cutmix(a, b, mask);
  auto mv = mask.to_vector<float>(), av = a.to_vector<float>(), bv = b.to_vector<float>(),
       xv = mixed.to_vector<float>();
  for (size_t i = 0; i < xv.size(); ++i) {
    size_t s = i / 48, p = i % 16;
    CHECK(xv[i] == (mv[s * 16 + p] == 1.f ? av[i] : bv[i]));
  }
  std::vector<Tensor> in{a, b};
  for (Tensor& t : in) t.set_requires_grad(true);
  GradcheckResult r = gradcheck([mask](auto& t) { return cutmix(t[0], t[1], mask); }, in);
  CHECK_MESSAGE(r.ok, r.report);
}

TEST_CASE("PriorityCut mask: the k% most occluded foreground pixels, never confident background") {
  // 1 sample, 2x4: left half background (M_bg = 0.9), right half foreground with occlusion values.
  Tensor bg = tensor({0.9f, 0.9f, 0.1f, 0.2f, 0.9f, 0.9f, 0.0f, 0.3f}, Shape{1, 1, 2, 4});
  Tensor occ = tensor({0.0f, 0.1f, 0.8f, 0.2f, 0.05f, 0.5f, 0.6f, 0.4f}, Shape{1, 1, 2, 4});
  Generator gen(1);
  // k = 50% of the 4 foreground pixels: the two smallest O_fg = (1 - bg) * O ... lowest are 0.2, 0.4.
  Tensor m = K::prioritycut_mask(bg, occ, 0.5, 0.5, 0.5, 2, 4, gen);
  CHECK(m.to_vector<float>() == std::vector<float>{0, 0, 0, 1, 0, 0, 0, 1});
  Tensor none = K::prioritycut_mask(bg, occ, 0.5, 0.0, 0.0, 2, 4, gen);
  CHECK(sum(none).item() == 0.f);
  Tensor up = K::prioritycut_mask(bg, occ, 0.5, 1.0, 1.0, 4, 8, gen);  // all foreground, upsampled
  CHECK(up.shape() == Shape{1, 1, 4, 8});
  CHECK(sum(up).item() == 16.f);
  // Random k in [0.1, 0.5] on larger maps: the selected share of foreground stays in range.
  Tensor big_bg = random_tensor(Shape{4, 1, 16, 16}, 2, 0, 1), big_occ = random_tensor(Shape{4, 1, 16, 16}, 3, 0, 1);
  Tensor sel = K::prioritycut_mask(big_bg, big_occ, 0.7, 0.1, 0.5, 16, 16, gen);
  auto fg = big_bg.to_vector<float>(), sv = sel.to_vector<float>();
  for (int s = 0; s < 4; ++s) {
    double f = 0, picked = 0;
    for (int i = 0; i < 256; ++i) {
      f += fg[size_t(s * 256 + i)] <= 0.7f;
      picked += sv[size_t(s * 256 + i)];
      if (sv[size_t(s * 256 + i)] == 1.f) CHECK(fg[size_t(s * 256 + i)] <= 0.7f);
    }
    CHECK(picked >= std::floor(0.1 * f));
    CHECK(picked <= std::floor(0.5 * f) + 1);
  }
  CHECK_THROWS_WITH_AS(K::prioritycut_mask(bg, occ, 0.5, 0.6, 0.5, 2, 4, gen), doctest::Contains("k_min <= k_max"),
                       Error);
}

// Random augmentations: bit-identical draws, so results agree to the tolerance of the float
// arithmetic after them (Poisson counts and CutMix boxes exactly).
PARITY("poisson", 0, 0, ({Tensor::zeros(Shape{1})}), kernels::poisson(Shape{100000}, 20.0, 7, 3, x[0].device()))

PARITY("poisson_large_lambda", 0, 0, ({Tensor::zeros(Shape{1})}),
       kernels::poisson(Shape{1000}, 150.0, 7, 4, x[0].device()))

PARITY("cutmix_box_mask", 0, 0, ({Tensor::zeros(Shape{1})}), [&] {
  Generator gen(12);
  return kernels::cutmix_box_mask(16, 32, 32, gen, x[0].device());
}())

PARITY("mask_noise_and_perturb_test", 1e-6, 1e-5, ({random_tensor(Shape{4, 1, 64, 64}, 108, 0, 1)}), [&] {
  Generator gen(13);
  Tensor m = x[0].detach();
  return kernels::perturb_test(kernels::mask_poisson_noise(m, 20.0, gen), kernels::row_median(reshape(m, {4, -1})));
}())

PARITY("perturb_train", 1e-5, 1e-4, ({random_tensor(Shape{4, 1, 64, 64}, 109, 0, 1)}), [&] {
  Generator gen(14);
  Tensor m = x[0].detach();
  return kernels::perturb_train(m, kernels::row_median(reshape(m, {4, -1})), 20.0, gen);
}())

PARITY("prioritycut_mask", 0, 0,
       ({random_tensor(Shape{4, 1, 64, 64}, 110, 0, 1), random_tensor(Shape{4, 1, 64, 64}, 111, 0, 1)}), [&] {
         Generator gen(15);
         return kernels::prioritycut_mask(x[0].detach(), x[1].detach(), 0.6, 0.1, 0.5, 256, 256, gen);
       }())

}  // TEST_SUITE
