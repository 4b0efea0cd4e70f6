#include <cmath>

#include "kernels/random.h"
#include "tensor/philox.h"
#include "tests/test_util.h"

using namespace anima;

TEST_SUITE("tensor") {

// Known-answer vectors of Random123 (tests/kat_vectors, "philox4x32 10" lines).
TEST_CASE("Philox4x32-10 known-answer vectors") {
  struct Kat {
    uint32_t ctr[4], key[2], out[4];
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Kat& k : kats) {
    PhiloxWords w = philox4x32_10(k.ctr[0], k.ctr[1], k.ctr[2], k.ctr[3], k.key[0], k.key[1]);
    for (int j = 0; j < 4; ++j) CHECK(w.w[j] == k.out[j]);
  }
}

TEST_CASE("random tensors: element i depends only on (seed, stream, i)") {
  Tensor a = Tensor::empty(Shape{10});
  Tensor b = Tensor::empty(Shape{7});
  kernels::uniform_(a, 0.f, 1.f, 42, 3);
  kernels::uniform_(b, 0.f, 1.f, 42, 3);
  auto va = a.to_vector<float>(), vb = b.to_vector<float>();
  for (int i = 0; i < 7; ++i) CHECK(va[i] == vb[i]);  // prefix property
  Tensor c = Tensor::empty(Shape{10});
  kernels::uniform_(c, 0.f, 1.f, 42, 4);
  CHECK(c.to_vector<float>() != va);
  Tensor bits = Tensor::empty(Shape{8}, DType::I32);
  kernels::random_bits_(bits, 0, 0);
  // counter (0,0,0,0), key (0,0): the first KAT vector.
  CHECK(uint32_t(bits.to_vector<int32_t>()[0]) == 0x6627e8d5u);
  CHECK(uint32_t(bits.to_vector<int32_t>()[3]) == 0x9b00dbd8u);
  Generator g1(5), g2(5);
  CHECK(test::bit_equal(kernels::randn(Shape{33}, g1), kernels::randn(Shape{33}, g2)));
  CHECK(g1.peek_stream() == 1);
}

TEST_CASE("uniform draws: range, mean, variance and a chi-square goodness of fit") {
  const int64_t n = 1 << 20;
  Tensor t = Tensor::empty(Shape{n});
  kernels::uniform_(t, -2.f, 3.f, 7, 0);
  auto v = t.to_vector<float>();
  double mean = 0, var = 0;
  const int bins = 50;
  std::vector<int64_t> hist(bins, 0);
  float lo = v[0], hi = v[0];
  for (float x : v) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    mean += x;
    hist[std::min(bins - 1, int((x + 2.f) / 5.f * bins))]++;
  }
  CHECK(lo >= -2.f);
  CHECK(hi < 3.f);
  mean /= n;
  for (float x : v) var += (x - mean) * (x - mean);
  var /= n;
  CHECK(std::fabs(mean - 0.5) < 5 * std::sqrt(25.0 / 12 / n));
  CHECK(std::fabs(var - 25.0 / 12) < 0.01);
  double chi2 = 0, expect = double(n) / bins;
  for (int64_t h : hist) chi2 += (h - expect) * (h - expect) / expect;
  // 49 degrees of freedom: the 99.9% quantile is about 85.4.
  CHECK(chi2 < 85.4);
}

TEST_CASE("normal draws: moments and a chi-square test against the normal CDF") {
  const int64_t n = 1 << 20;
  Tensor t = Tensor::empty(Shape{n});
  kernels::normal_(t, 1.f, 2.f, 11, 0);
  auto v = t.to_vector<float>();
  double mean = 0, m2 = 0, m4 = 0;
  for (float x : v) mean += x;
  mean /= n;
  for (float x : v) {
    double d = (x - mean) / 2.0;
    m2 += d * d;
    m4 += d * d * d * d;
  }
  m2 /= n;
  m4 /= n;
  CHECK(std::fabs(mean - 1.0) < 0.01);
  CHECK(std::fabs(m2 - 1.0) < 0.01);
  CHECK(std::fabs(m4 - 3.0) < 0.05);  // kurtosis of a normal
  // 40 equiprobable-ish bins on [-4, 4] standard deviations plus two tails.
  const int bins = 40;
  std::vector<int64_t> hist(bins + 2, 0);
  for (float x : v) {
    double z = (x - 1.0) / 2.0;
    int b = z < -4 ? 0 : (z >= 4 ? bins + 1 : 1 + int((z + 4) / 8 * bins));
    hist[b]++;
  }
  auto cdf = [](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
  double chi2 = 0;
  for (int b = 0; b < bins + 2; ++b) {
    double lo = b == 0 ? -INFINITY : -4 + 8.0 * (b - 1) / bins;
    double hi = b == bins + 1 ? INFINITY : -4 + 8.0 * b / bins;
    double expect = n * (cdf(hi) - cdf(lo));
    if (expect < 5) continue;
    chi2 += (hist[b] - expect) * (hist[b] - expect) / expect;
  }
  CHECK(chi2 < 80.0);  // about 39 degrees of freedom; 99.9% quantile is about 72.1 (+ margin)
}

TEST_CASE("the portable log and sincos used by the normal transform are accurate") {
  double worst_log = 0, worst_trig = 0;
  for (int i = 1; i <= 100000; ++i) {
    float x = float(i) / 100000.f;
    worst_log = std::max(worst_log, std::fabs(double(philox_log(x)) - std::log(double(x))));
    float u = float(i - 1) / 100000.f;
    float s, c;
    philox_sincos_2pi(u, &s, &c);
    worst_trig = std::max(worst_trig, std::fabs(double(s) - std::sin(2 * M_PI * double(u))));
    worst_trig = std::max(worst_trig, std::fabs(double(c) - std::cos(2 * M_PI * double(u))));
  }
  CHECK(worst_log < 2e-6);  // |log x| <= 11.6 here, so this is a few ulp
  CHECK(worst_trig < 1e-6);
}

TEST_CASE("random fills are bit-identical on CPU and CUDA [cuda]") {
  REQUIRE_CUDA_OR_SKIP();
  for (int64_t n : {1, 5, 1000, 1 << 20}) {
    Tensor c = Tensor::empty(Shape{n});
    Tensor g = Tensor::empty(Shape{n}, DType::F32, Device::cuda());
    kernels::normal_(c, 0.5f, 3.f, 99, 17);
    kernels::normal_(g, 0.5f, 3.f, 99, 17);
    CHECK(test::bit_equal(c, g));
    kernels::uniform_(c, -1.f, 4.f, 99, 18);
    kernels::uniform_(g, -1.f, 4.f, 99, 18);
    CHECK(test::bit_equal(c, g));
  }
}

}  // TEST_SUITE
