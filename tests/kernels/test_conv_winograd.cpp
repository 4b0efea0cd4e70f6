// Winograd F(4x4, 3x3) (kernels/conv_winograd_f4.cpp): values against the definition within a
// rounding bound, Auto's choice of tile, the op's forward and input gradient through it, and its
// bits at every chunking and thread count. F(2x2, 3x3) is tested in test_conv.cpp.

#include <omp.h>

#include <cmath>
#include <limits>

#include "kernels/conv.h"
#include "kernels/conv_im2col.h"
#include "kernels/conv_winograd.h"
#include "kernels/elementwise.h"
#include "kernels/math_mode.h"
#include "tests/test_util.h"

using namespace anima;
namespace K = anima::kernels;
namespace W = anima::kernels::winograd;
using test::random_tensor;

namespace {

// F(4x4, 3x3) rounds in its transforms (the constants 4, 5, 1/6, 1/12, 1/24 and the sums of six
// terms on each side), so an output's error is bounded by a multiple of eps times S, the sum of
// |w| |x| over its taps and channels (plus |b|): kF4Bound eps S. Measured worst on these cases:
// 28 eps S with one input channel, 5-11 with more; F(2x2, 3x3) below 0.8 eps S (kF2Bound).
constexpr double kF4Bound = 64, kF2Bound = 2;

// The largest |actual - expected| / (eps S) over the elements.
double worst_in_eps(const Tensor& actual, const Tensor& expected, const Tensor& S) {
  const double eps = std::numeric_limits<float>::epsilon();
  double worst = 0;
  for (int64_t i = 0; i < expected.numel(); ++i) {
    double e = std::fabs(double(actual.data<float>()[i]) - expected.data<float>()[i]);
    worst = std::max(worst, e / (eps * std::max(double(S.data<float>()[i]), 1e-30)));
  }
  return worst;
}

struct Case {
  const char* name;
  Shape x;
  int64_t co;
  int pad_h, pad_w;
};

}  // namespace

TEST_SUITE("kernels") {

TEST_CASE("conv2d: Winograd F(4x4, 3x3) matches the definition within its rounding bound") {
  // partial 4x4 blocks in both directions, padding 0, 1 and 2, maps narrower and lower than a
  // block, a batch, channel counts of 1 and many
  const Case cases[] = {
      {"5->7 at 9x13, padding 1", {2, 5, 9, 13}, 7, 1, 1},     {"17->16 at 7x10, no padding", {3, 17, 7, 10}, 16, 0, 0},
      {"4->3 at 6x5, padding 2 and 0", {1, 4, 6, 5}, 3, 2, 0}, {"3->2 at 3x2, padding 1 and 2", {2, 3, 3, 2}, 2, 1, 2},
      {"1->1 at 4x4, padding 1", {1, 1, 4, 4}, 1, 1, 1},
      {"48->40 at 21x18, padding 1", {2, 48, 21, 18}, 40, 1, 1},
  };
  uint64_t seed = 1300;
  for (const Case& c : cases) {
    INFO(c.name);
    Tensor x = random_tensor(c.x, seed++), w = random_tensor(Shape{c.co, c.x[1], 3, 3}, seed++);
    Tensor b = random_tensor(Shape{c.co}, seed++);
    Conv2dParams p{1, 1, c.pad_h, c.pad_w, 1, 1, 1};
    Tensor ref = K::conv2d_reference(x, w, b, p);
    Tensor S = K::conv2d_reference(K::abs(x), K::abs(w), K::abs(b), p);
    K::ops::ConvGeometry g = K::conv_geometry(x.shape(), w.shape(), ref.shape(), p);
    Tensor f4 = Tensor::empty(ref.shape()), f2 = Tensor::empty(ref.shape());
    W::forward(g, c.x[0], c.co, x.data<float>(), w.data<float>(), b.data<float>(), f4.data<float>(), 0, W::Tile::F4x4);
    W::forward(g, c.x[0], c.co, x.data<float>(), w.data<float>(), b.data<float>(), f2.data<float>(), 0, W::Tile::F2x2);
    double e4 = worst_in_eps(f4, ref, S), e2 = worst_in_eps(f2, ref, S);
    INFO("F(4x4) worst " << e4 << " eps S, F(2x2) " << e2);
    CHECK(e4 <= kF4Bound);
    CHECK(e2 <= kF2Bound);
    CHECK_FALSE(test::bit_equal(f4, f2));  // the two tiles do round differently: F(4x4) did run
  }
}

TEST_CASE("conv2d: Auto's Winograd takes F(4x4, 3x3) on larger maps; the op's forward and input gradient") {
  auto geometry = [](int64_t C, int64_t H, int64_t W_) {
    return K::ops::ConvGeometry{C, H, W_, 3, 3, H, W_, 1, 1, 1, 1, 1, 1};
  };
  CHECK(W::choose_tile(geometry(32, 32, 32), 1, 32) == W::Tile::F4x4);
  CHECK(W::choose_tile(geometry(256, 64, 64), 1, 256) == W::Tile::F4x4);
  CHECK(W::choose_tile(geometry(32, 31, 64), 1, 32) == W::Tile::F2x2);  // a side below 32
  CHECK(W::choose_tile(geometry(16, 64, 64), 1, 32) == W::Tile::F2x2);  // few input channels
  CHECK(W::choose_tile(geometry(64, 64, 64), 1, 16) == W::Tile::F2x2);  // few output channels
  CHECK(W::choose_tile(geometry(512, 8, 8), 1, 512) == W::Tile::F2x2);  // a small map
  CHECK(W::choose_tile(geometry(128, 16, 16), 4, 256) == W::Tile::F4x4);  // 16x16 with 384 channels
  CHECK(W::choose_tile(geometry(128, 16, 16), 4, 255) == W::Tile::F2x2);
  CHECK(W::choose_tile(geometry(256, 15, 16), 4, 256) == W::Tile::F2x2);
  {
    MathModeScope det(allow_tf32(), true);  // deterministic mode keeps F(2x2) and Auto's earlier choices
    CHECK(W::choose_tile(geometry(256, 64, 64), 1, 256) == W::Tile::F2x2);
    CHECK_FALSE(W::f4_pays_on_small_maps(geometry(256, 16, 16), 4, 256));
  }
  CHECK(W::f4_pays_on_small_maps(geometry(256, 16, 16), 4, 256));
  CHECK_FALSE(W::f4_pays_on_small_maps(geometry(256, 16, 16), 3, 256));  // 48 blocks
  CHECK(W::choose_tile(geometry(1024, 16, 16), 1, 256) == W::Tile::F2x2);

  // 3x3 32->40 at 33x35 (partial blocks): the op's forward is F(4x4)'s, bit for bit; the input
  // gradient (a forward convolution of the output gradient with the flipped kernel, 40->32)
  // takes it too, within its bound of im2col's
  Tensor x = random_tensor(Shape{1, 32, 33, 35}, 1400), w = random_tensor(Shape{40, 32, 3, 3}, 1401);
  Tensor b = random_tensor(Shape{40}, 1402), gy = random_tensor(Shape{1, 40, 33, 35}, 1403);
  Conv2dParams p{1, 1, 1, 1, 1, 1, 1};
  K::set_cpu_conv_algo(K::CpuConvAlgo::Winograd);
  Tensor y = K::conv2d(x, w, b, p), dx = K::conv2d_backward_input(gy, w, x.shape(), p);
  K::set_cpu_conv_algo(K::CpuConvAlgo::Im2col);
  Tensor dx_gemm = K::conv2d_backward_input(gy, w, x.shape(), p);
  Tensor S_dx = K::conv2d_backward_input(K::abs(gy), K::abs(w), x.shape(), p);
  K::set_cpu_conv_algo(K::CpuConvAlgo::Auto);
  Tensor y_f4 = Tensor::empty(y.shape());
  W::forward(geometry(32, 33, 35), 1, 40, x.data<float>(), w.data<float>(), b.data<float>(), y_f4.data<float>(), 0,
             W::Tile::F4x4);
  CHECK(test::bit_equal(y, y_f4));
  Tensor S = K::conv2d_reference(K::abs(x), K::abs(w), K::abs(b), p);
  CHECK(worst_in_eps(y, K::conv2d_reference(x, w, b, p), S) <= kF4Bound);
  // im2col's own rounding (a few eps S) adds to the difference
  CHECK(worst_in_eps(dx, dx_gemm, S_dx) <= kF4Bound + 4);
  // and it is F(4x4)'s convolution of gy (40->32) with the kernel flipped and its channel axes
  // swapped, bit for bit
  Tensor wt = Tensor::empty(Shape{32, 40, 3, 3});
  for (int64_t co = 0; co < 40; ++co)
    for (int64_t c = 0; c < 32; ++c)
      for (int64_t t = 0; t < 9; ++t)
        wt.data<float>()[(c * 40 + co) * 9 + t] = w.data<float>()[(co * 32 + c) * 9 + 8 - t];
  Tensor dx_f4 = Tensor::empty(x.shape());
  W::forward(geometry(40, 33, 35), 1, 32, gy.data<float>(), wt.data<float>(), nullptr, dx_f4.data<float>(), 0,
             W::Tile::F4x4);
  CHECK(test::bit_equal(dx, dx_f4));
}

TEST_CASE("conv2d: Winograd F(4x4, 3x3)'s bits depend neither on the chunking nor on the thread count") {
  // 2 images of 19x22 (5x6 blocks each, 10 tile rows): chunks of one tile row (10 chunks: the
  // per-thread schedule at 2 threads), of 12 and 24 tiles crossing the images, and the default
  // one chunk, each phase split among the threads
  Tensor x = random_tensor(Shape{2, 6, 19, 22}, 1500), w = random_tensor(Shape{5, 6, 3, 3}, 1501);
  Tensor b = random_tensor(Shape{5}, 1502);
  K::ops::ConvGeometry g{6, 19, 22, 3, 3, 19, 22, 1, 1, 1, 1, 1, 1};
  auto run = [&](int64_t chunk, int threads) {
    Tensor out = Tensor::empty(Shape{2, 5, 19, 22});
    int previous = omp_get_max_threads();
    omp_set_num_threads(threads);
    W::forward(g, 2, 5, x.data<float>(), w.data<float>(), b.data<float>(), out.data<float>(), chunk, W::Tile::F4x4);
    omp_set_num_threads(previous);
    return out;
  };
  Tensor whole = run(0, 1);
  for (int threads : {1, 2, 3})
    for (int64_t chunk : {int64_t(0), int64_t(6), int64_t(12), int64_t(24)}) {
      INFO(threads << " threads, chunks of " << chunk);
      CHECK(test::bit_equal(run(chunk, threads), whole));
    }
}

}  // TEST_SUITE
