// conv2d (kernels/conv.h): values against PyTorch goldens and the reference loop, every CPU algorithm, gradchecks,
// errors, TF32 and the cuDNN algorithm cache, CUDA-vs-CPU parity.

#include <cblas.h>
#include <omp.h>

#include "autograd/nn_functions.h"
#include "kernels/conv_im2col.h"
#include "kernels/conv_winograd.h"
#include "kernels/cpu_report.h"
#include "kernels/cudnn_backend.h"
#include "kernels/math_mode.h"
#include "tests/parity.h"
#include "tests/test_util.h"

using namespace anima;
namespace K = anima::kernels;
using test::away_from_zero;
using test::expect_gradients_match;
using test::random_tensor;
using test::tensor;

TEST_SUITE("kernels") {

TEST_CASE("conv2d matches PyTorch: stride, padding, dilation, groups, depthwise, pointwise") {
  const SafetensorsFile& g = test::golden("conv2d.safetensors");
  struct Case {
    const char* name;
    Conv2dParams p;
  };
  const Case cases[] = {{"basic", {1, 1, 1, 1, 1, 1, 1}},     {"stride2", {2, 2, 1, 1, 1, 1, 1}},
                        {"dilation2", {1, 1, 2, 2, 2, 2, 1}}, {"groups2", {1, 1, 1, 1, 1, 1, 2}},
                        {"depthwise", {1, 1, 0, 0, 1, 1, 3}}, {"pointwise", {1, 1, 0, 0, 1, 1, 1}},
                        {"k7_nopad", {1, 1, 0, 0, 1, 1, 1}}};
  for (const Case& c : cases) {
    Conv2dParams p = c.p;
    test::check_against_golden(
        g, c.name, {"x", "w", "b"}, [p](const std::vector<Tensor>& t) { return conv2d(t[0], t[1], t[2], p); }, 1e-5,
        1e-4);
  }
}

TEST_CASE("conv2d: im2col path equals the direct reference loop") {
  Conv2dParams p{2, 1, 1, 2, 1, 2, 2};
  Tensor x = random_tensor(Shape{2, 4, 9, 11}, 1), w = random_tensor(Shape{6, 2, 3, 4}, 2);
  Tensor b = random_tensor(Shape{6}, 3);
  CHECK_CLOSE(kernels::conv2d(x, w, b, p), kernels::conv2d_reference(x, w, b, p), 1e-5, 1e-5);
  CHECK(kernels::conv2d_output_shape(x.shape(), w.shape(), p) == Shape{2, 6, 5, 9});  // H: (9+2-3)/2+1, W: (11+4-7)/1+1
}

// <conv(x, w), gy> = <x, dx(gy, w)> = <w, dw(gy, x)>: the CPU backward passes are the adjoints of
// the direct loop, here with padding wider than the dilated kernel (whole kernel rows and columns
// read only zeros), unequal strides and dilations.
TEST_CASE("conv2d: backward input and weight are the adjoints of the reference loop") {
  Conv2dParams p{3, 2, 4, 3, 2, 1, 1};
  Tensor x = random_tensor(Shape{2, 2, 7, 5}, 7), w = random_tensor(Shape{3, 2, 3, 3}, 8);
  Tensor y = kernels::conv2d_reference(x, w, Tensor(), p);
  REQUIRE(y.shape() == Shape{2, 3, 4, 5});
  Tensor gy = random_tensor(y.shape(), 9);
  auto dot = [](const Tensor& a, const Tensor& b) {
    double s = 0;
    for (int64_t i = 0; i < a.numel(); ++i) s += double(a.data<float>()[i]) * b.data<float>()[i];
    return s;
  };
  double lhs = dot(y, gy);
  CHECK(dot(x, kernels::conv2d_backward_input(gy, w, x.shape(), p)) == doctest::Approx(lhs).epsilon(1e-5));
  CHECK(dot(w, kernels::conv2d_backward_weight(gy, x, w.shape(), p)) == doctest::Approx(lhs).epsilon(1e-5));
}

TEST_CASE("conv2d: gradcheck of input, weight and bias") {
  Conv2dParams p{2, 2, 1, 1, 1, 1, 2};
  expect_gradients_match(
      [p](auto& t) { return conv2d(t[0], t[1], t[2], p); },
      {random_tensor(Shape{2, 4, 5, 5}, 4), random_tensor(Shape{4, 2, 3, 3}, 5), random_tensor(Shape{4}, 6)});
}

namespace {

// The CPU's three convolution algorithms (kernels/conv.h), each forced in turn; the previous
// choice comes back at the end of the scope.
struct ConvAlgoScope {
  kernels::CpuConvAlgo previous = kernels::cpu_conv_algo();
  explicit ConvAlgoScope(kernels::CpuConvAlgo algo) { kernels::set_cpu_conv_algo(algo); }
  ~ConvAlgoScope() { kernels::set_cpu_conv_algo(previous); }
};

struct ConvCase {
  const char* name;
  Shape x, w;
  Conv2dParams p;  // stride h, w; pad h, w; dilation h, w; groups
};

// Geometries that reach every branch: partial tiles, blocks of 8 output channels with a
// remainder, groups, dilation, padding wider than the kernel (the tiled input gradient does
// not apply), rows narrower than a tile, strides (tiled kernels do not apply).
const ConvCase kConvCases[] = {
    {"7x7 16->3, rows of 37 (a partial tile)", {2, 16, 9, 37}, {3, 16, 7, 7}, {1, 1, 3, 3, 1, 1, 1}},
    {"3x3 5->20 (channel blocks of 8, 8, 4)", {2, 5, 6, 19}, {20, 5, 3, 3}, {1, 1, 1, 1, 1, 1, 1}},
    {"dilated, unequal padding, 2 groups of 9", {2, 6, 11, 23}, {18, 3, 3, 5}, {1, 1, 2, 1, 2, 3, 2}},
    {"depthwise 5x5", {2, 4, 12, 18}, {4, 1, 5, 5}, {1, 1, 2, 2, 1, 1, 4}},
    {"padding wider than the kernel", {1, 3, 5, 17}, {2, 3, 3, 3}, {1, 1, 3, 4, 1, 1, 1}},
    {"no padding, rows of 6", {2, 4, 8, 8}, {3, 4, 3, 3}, {1, 1, 0, 0, 1, 1, 1}},
    {"stride 2, 1 output channel", {2, 3, 10, 21}, {1, 3, 5, 5}, {2, 2, 2, 2, 1, 1, 1}},
    {"unequal strides and dilations, 2 groups", {2, 4, 13, 19}, {4, 2, 3, 4}, {2, 1, 1, 2, 1, 2, 2}},
};

// dx and dw of sum(conv(x, w) * gy), summed in double by the definition.
std::pair<Tensor, Tensor> conv_gradients_by_definition(const Tensor& x, const Tensor& w, const Tensor& gy,
                                                       const Conv2dParams& p) {
  const Shape &xs = x.shape(), &ws = w.shape(), &ys = gy.shape();
  int64_t Cg = xs[1] / p.groups, Cog = ys[1] / p.groups;
  std::vector<double> dx(size_t(xs.numel()), 0.0), dw(size_t(ws.numel()), 0.0);
  for (int64_t n = 0; n < ys[0]; ++n)
    for (int64_t co = 0; co < ys[1]; ++co)
      for (int64_t ho = 0; ho < ys[2]; ++ho)
        for (int64_t wo = 0; wo < ys[3]; ++wo) {
          double g = gy.data<float>()[((n * ys[1] + co) * ys[2] + ho) * ys[3] + wo];
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < ws[2]; ++i)
              for (int64_t j = 0; j < ws[3]; ++j) {
                int64_t h = ho * p.stride_h - p.pad_h + i * p.dil_h, ww = wo * p.stride_w - p.pad_w + j * p.dil_w;
                if (h < 0 || h >= xs[2] || ww < 0 || ww >= xs[3]) continue;
                int64_t xi = ((n * xs[1] + co / Cog * Cg + c) * xs[2] + h) * xs[3] + ww;
                int64_t wi = ((co * Cg + c) * ws[2] + i) * ws[3] + j;
                dx[size_t(xi)] += g * w.data<float>()[wi];
                dw[size_t(wi)] += g * x.data<float>()[xi];
              }
        }
  auto to_tensor = [](const std::vector<double>& v, const Shape& s) {
    Tensor t = Tensor::empty(s);
    for (size_t k = 0; k < v.size(); ++k) t.data<float>()[k] = float(v[k]);
    return t;
  };
  return {to_tensor(dx, xs), to_tensor(dw, ws)};
}

}  // namespace

TEST_CASE("conv2d: every CPU algorithm matches the definition, forward and both gradients") {
  const kernels::CpuConvAlgo algos[] = {kernels::CpuConvAlgo::Auto, kernels::CpuConvAlgo::Im2col,
                                        kernels::CpuConvAlgo::DirectRows, kernels::CpuConvAlgo::DirectTiled};
  const char* names[] = {"auto", "im2col", "direct rows", "direct tiled"};
  uint64_t seed = 100;
  for (const ConvCase& c : kConvCases) {
    Tensor x = random_tensor(c.x, seed++), w = random_tensor(c.w, seed++), b = random_tensor(Shape{c.w[0]}, seed++);
    Tensor y = kernels::conv2d_reference(x, w, b, c.p);
    Tensor gy = random_tensor(y.shape(), seed++);
    auto [dx, dw] = conv_gradients_by_definition(x, w, gy, c.p);
    for (int a = 0; a < 4; ++a) {
      INFO(c.name << ", " << names[a]);
      ConvAlgoScope scope(algos[a]);
      CHECK_CLOSE(kernels::conv2d(x, w, b, c.p), y, 1e-5, 1e-5);
      CHECK_CLOSE(kernels::conv2d_backward_input(gy, w, x.shape(), c.p), dx, 1e-5, 1e-5);
      CHECK_CLOSE(kernels::conv2d_backward_weight(gy, x, w.shape(), c.p), dw, 1e-4, 1e-5);
    }
  }
}

// The tiled kernel adds the same products in the same order as the row body it replaces.
TEST_CASE("conv2d: Winograd F(2x2, 3x3) matches the definition, forward and both gradients") {
  // odd and even sizes (partial 2x2 blocks), padding 0, 1 and 2, channel counts on both sides of
  // Auto's threshold, a batch, and an image narrower than a tile
  const ConvCase cases[] = {
      {"3x3 5->7, 9x13, padding 1", {2, 5, 9, 13}, {7, 5, 3, 3}, {1, 1, 1, 1, 1, 1, 1}},
      {"3x3 16->24, 8x8, padding 1", {1, 16, 8, 8}, {24, 16, 3, 3}, {1, 1, 1, 1, 1, 1, 1}},
      {"3x3 17->16, 7x10, no padding", {3, 17, 7, 10}, {16, 17, 3, 3}, {1, 1, 0, 0, 1, 1, 1}},
      {"3x3 4->3, 6x5, padding 2 and 0", {1, 4, 6, 5}, {3, 4, 3, 3}, {1, 1, 2, 0, 1, 1, 1}},
      {"3x3 3->2, 3x2, padding 1 and 2", {2, 3, 3, 2}, {2, 3, 3, 3}, {1, 1, 1, 2, 1, 1, 1}},
  };
  uint64_t seed = 300;
  ConvAlgoScope scope(kernels::CpuConvAlgo::Winograd);
  for (const ConvCase& c : cases) {
    INFO(c.name);
    Tensor x = random_tensor(c.x, seed++), w = random_tensor(c.w, seed++), b = random_tensor(Shape{c.w[0]}, seed++);
    Tensor y = kernels::conv2d_reference(x, w, b, c.p);
    Tensor gy = random_tensor(y.shape(), seed++);
    auto [dx, dw] = conv_gradients_by_definition(x, w, gy, c.p);
    CHECK_CLOSE(kernels::conv2d(x, w, b, c.p), y, 1e-5, 1e-5);
    CHECK_CLOSE(kernels::conv2d_backward_input(gy, w, x.shape(), c.p), dx, 1e-5, 1e-5);
    CHECK_CLOSE(kernels::conv2d_backward_weight(gy, x, w.shape(), c.p), dw, 1e-4, 1e-5);
  }
}

TEST_CASE("conv2d: Auto takes Winograd for a 3x3 convolution 16->32 with 1024 2x2 blocks, and both gradients") {
  Tensor x = random_tensor(Shape{1, 16, 64, 64}, 350), w = random_tensor(Shape{32, 16, 3, 3}, 351);
  Tensor b = random_tensor(Shape{32}, 352), gy = random_tensor(Shape{1, 32, 64, 64}, 353);
  Conv2dParams p{1, 1, 1, 1, 1, 1, 1};
  auto run = [&](kernels::CpuConvAlgo algo) {
    ConvAlgoScope scope(algo);
    return std::make_tuple(kernels::conv2d(x, w, b, p), kernels::conv2d_backward_input(gy, w, x.shape(), p),
                           kernels::conv2d_backward_weight(gy, x, w.shape(), p));
  };
  auto [y_auto, dx_auto, dw_auto] = run(kernels::CpuConvAlgo::Auto);
  auto [y_wino, dx_wino, dw_wino] = run(kernels::CpuConvAlgo::Winograd);
  auto [y_gemm, dx_gemm, dw_gemm] = run(kernels::CpuConvAlgo::Im2col);
  CHECK(test::bit_equal(y_auto, y_wino));
  CHECK(test::bit_equal(dx_auto, dx_wino));
  CHECK(test::bit_equal(dw_auto, dw_wino));
  CHECK_FALSE(test::bit_equal(y_auto, y_gemm));  // a different summation: Winograd did run
  CHECK_CLOSE(y_auto, y_gemm, 1e-5, 1e-5);
  CHECK_CLOSE(dx_auto, dx_gemm, 1e-5, 1e-5);
  CHECK_CLOSE(dw_auto, dw_gemm, 1e-4, 1e-5);
}

TEST_CASE("conv2d: a batch-1 im2col GEMM split among the threads gives the bits of one GEMM") {
  // 3x3 32->64 at 64x64: 75M multiply-adds per pass, above cpu_sgemm's split threshold; at one
  // thread each pass is one GEMM, at two and three its columns (rows) are split (with the
  // SkylakeX kernels; with the Haswell ones nothing splits, cpu_blas.h)
  const char* core = openblas_get_corename();
  std::string family = core ? core : "";
  if (family != "SkylakeX" && family != "Haswell" && family != "skylakex" && family != "haswell") {
    test::mark_skipped("OpenBLAS runs its " + family + " kernels: the split's bits are known for SkylakeX and Haswell");
    return;
  }
  Tensor x = random_tensor(Shape{1, 32, 64, 64}, 360), w = random_tensor(Shape{64, 32, 3, 3}, 361);
  Tensor b = random_tensor(Shape{64}, 362), gy = random_tensor(Shape{1, 64, 64, 64}, 363);
  Conv2dParams p{1, 1, 1, 1, 1, 1, 1};
  ConvAlgoScope scope(kernels::CpuConvAlgo::Im2col);
  auto run = [&](int threads) {
    int previous = omp_get_max_threads();
    omp_set_num_threads(threads);
    auto r = std::make_tuple(kernels::conv2d(x, w, b, p), kernels::conv2d_backward_input(gy, w, x.shape(), p),
                             kernels::conv2d_backward_weight(gy, x, w.shape(), p));
    omp_set_num_threads(previous);
    return r;
  };
  auto [y1, dx1, dw1] = run(1);
  for (int threads : {2, 3}) {
    INFO(threads << " threads");
    auto [y, dx, dw] = run(threads);
    CHECK(test::bit_equal(y, y1));
    CHECK(test::bit_equal(dx, dx1));
    CHECK(test::bit_equal(dw, dw1));
  }
}

TEST_CASE("conv2d: small maps share an im2col GEMM among images; the same values as one image per GEMM") {
  // 20x20 outputs: 2 images per GEMM (kBatchColumns 1024 / 400), so 5 images are GEMMs of 2, 2 and
  // 1; 9x9: all 5 in one on one thread, runs of 3 and 2 on two; a stride-2 map; 2 groups; a 1x1
  // convolution (one image per GEMM always)
  const ConvCase cases[] = {
      {"3x3 6->8 at 20x20, 5 images", {5, 6, 20, 20}, {8, 6, 3, 3}, {1, 1, 1, 1, 1, 1, 1}},
      {"3x3 6->8 at 9x9, 5 images", {5, 6, 9, 9}, {8, 6, 3, 3}, {1, 1, 1, 1, 1, 1, 1}},
      {"stride 2, 2 groups, 3 images", {3, 4, 13, 11}, {6, 2, 3, 3}, {2, 2, 1, 1, 1, 1, 2}},
      {"1x1 8->5, 4 images", {4, 8, 6, 7}, {5, 8, 1, 1}, {1, 1, 0, 0, 1, 1, 1}},
  };
  const int64_t one_thread[] = {2, 5, 3, 1}, two_threads[] = {2, 3, 2, 1};
  ConvAlgoScope scope(kernels::CpuConvAlgo::Im2col);
  uint64_t seed = 900;
  for (size_t k = 0; k < std::size(cases); ++k) {
    const ConvCase& c = cases[k];
    INFO(c.name);
    Tensor x = random_tensor(c.x, seed++), w = random_tensor(c.w, seed++), b = random_tensor(Shape{c.w[0]}, seed++);
    Shape ys = kernels::conv2d_output_shape(c.x, c.w, c.p);
    kernels::ops::ConvGeometry g = kernels::conv_geometry(c.x, c.w, ys, c.p);
    int previous = omp_get_max_threads();
    omp_set_num_threads(1);
    CHECK(kernels::im2col::images_per_gemm(g, c.x[0]) == one_thread[k]);
    omp_set_num_threads(2);
    CHECK(kernels::im2col::images_per_gemm(g, c.x[0]) == two_threads[k]);
    omp_set_num_threads(previous);
    Tensor gy = random_tensor(ys, seed++);
    auto [dx_def, dw_def] = conv_gradients_by_definition(x, w, gy, c.p);
    Tensor y = kernels::conv2d(x, w, b, c.p), dx = kernels::conv2d_backward_input(gy, w, x.shape(), c.p);
    Tensor dw = kernels::conv2d_backward_weight(gy, x, w.shape(), c.p);
    CHECK_CLOSE(y, kernels::conv2d_reference(x, w, b, c.p), 1e-5, 1e-5);
    CHECK_CLOSE(dx, dx_def, 1e-5, 1e-5);
    CHECK_CLOSE(dw, dw_def, 1e-4, 1e-5);
    // Deterministic mode keeps one image per GEMM (the order of its committed digest).
    MathModeScope det(allow_tf32(), true);
    CHECK(kernels::im2col::images_per_gemm(g, c.x[0]) == 1);
    CHECK_CLOSE(kernels::conv2d(x, w, b, c.p), y, 1e-6, 1e-6);
    CHECK_CLOSE(kernels::conv2d_backward_input(gy, w, x.shape(), c.p), dx, 1e-6, 1e-6);
    CHECK_CLOSE(kernels::conv2d_backward_weight(gy, x, w.shape(), c.p), dw, 1e-5, 1e-6);
  }
}

TEST_CASE("conv2d: a large batch-1 im2col forward runs in blocks of output rows; the values of one GEMM") {
  // 7x7 3->8 at 130x120: 147 x 15600 column entries (above the 2M-float threshold), blocks of
  // 14 output rows, the last one partial; deterministic mode keeps the whole GEMM
  Tensor x = random_tensor(Shape{1, 3, 130, 120}, 950), w = random_tensor(Shape{8, 3, 7, 7}, 951);
  Tensor b = random_tensor(Shape{8}, 952);
  Conv2dParams p{1, 1, 3, 3, 1, 1, 1};
  ConvAlgoScope scope(kernels::CpuConvAlgo::Im2col);
  kernels::ops::ConvGeometry g = kernels::conv_geometry(x.shape(), w.shape(), Shape{1, 8, 130, 120}, p);
  CHECK(kernels::im2col::by_row_blocks(g, 1, 1));
  CHECK_FALSE(kernels::im2col::by_row_blocks(g, 2, 1));  // a batch: images in parallel instead
  Tensor blocked = kernels::conv2d(x, w, b, p);
  Tensor whole;
  {
    MathModeScope det(allow_tf32(), true);
    CHECK_FALSE(kernels::im2col::by_row_blocks(g, 1, 1));
    whole = kernels::conv2d(x, w, b, p);
  }
  CHECK_CLOSE(blocked, kernels::conv2d_reference(x, w, b, p), 1e-5, 1e-5);
  CHECK_CLOSE(blocked, whole, 1e-6, 1e-6);
}

TEST_CASE("conv2d: Winograd's bits depend neither on the chunking nor on the thread count") {
  // 2 images of 19x22: 110 2x2 blocks each, in chunks of 16 tiles that cross the images, on the
  // chunked schedule (many chunks per thread) and one chunk after another
  Tensor x = random_tensor(Shape{2, 6, 19, 22}, 400), w = random_tensor(Shape{5, 6, 3, 3}, 401);
  Tensor b = random_tensor(Shape{5}, 402);
  kernels::ops::ConvGeometry g{6, 19, 22, 3, 3, 19, 22, 1, 1, 1, 1, 1, 1};
  auto run = [&](int64_t chunk, int threads) {
    Tensor out = Tensor::empty(Shape{2, 5, 19, 22});
    int previous = omp_get_max_threads();
    omp_set_num_threads(threads);
    kernels::winograd::forward(g, 2, 5, x.data<float>(), w.data<float>(), b.data<float>(), out.data<float>(), chunk);
    omp_set_num_threads(previous);
    return out;
  };
  Tensor whole = run(0, 1);
  CHECK_CLOSE(whole, kernels::conv2d_reference(x, w, b, Conv2dParams{1, 1, 1, 1, 1, 1, 1}), 1e-5, 1e-5);
  for (int threads : {1, 2, 3})
    for (int64_t chunk : {int64_t(0), int64_t(16), int64_t(48)}) {
      INFO(threads << " threads, chunks of " << chunk);
      CHECK(test::bit_equal(run(chunk, threads), whole));
    }
  // The weight gradient sums over the tiles chunk after chunk: the same bits at every thread
  // count for a given chunking (which depends on the shape only), close for another.
  Tensor gy = random_tensor(Shape{2, 5, 19, 22}, 403);
  auto grad = [&](int64_t chunk, int threads) {
    Tensor dw = Tensor::empty(Shape{5, 6, 3, 3});
    int previous = omp_get_max_threads();
    omp_set_num_threads(threads);
    kernels::winograd::backward_weight(g, 2, 5, gy.data<float>(), x.data<float>(), dw.data<float>(), chunk);
    omp_set_num_threads(previous);
    return dw;
  };
  Tensor dw_whole = grad(0, 1);
  auto [dx_def, dw_def] = conv_gradients_by_definition(x, w, gy, Conv2dParams{1, 1, 1, 1, 1, 1, 1});
  CHECK_CLOSE(dw_whole, dw_def, 1e-4, 1e-5);
  for (int64_t chunk : {int64_t(0), int64_t(16)}) {
    Tensor one = grad(chunk, 1);
    CHECK_CLOSE(one, dw_def, 1e-4, 1e-5);
    for (int threads : {2, 3}) {
      INFO(threads << " threads, chunks of " << chunk);
      CHECK(test::bit_equal(grad(chunk, threads), one));
    }
  }
}

TEST_CASE("conv2d: the tiled forward kernel equals the direct rows bit for bit") {
  uint64_t seed = 200;
  int checked = 0;
  for (const ConvCase& c : kConvCases) {
    if (c.p.stride_h != 1 || c.p.stride_w != 1) continue;
    INFO(c.name);
    Tensor x = random_tensor(c.x, seed++), w = random_tensor(c.w, seed++), b = random_tensor(Shape{c.w[0]}, seed++);
    Tensor rows, tiled;
    {
      ConvAlgoScope scope(kernels::CpuConvAlgo::DirectRows);
      rows = kernels::conv2d(x, w, b, c.p);
    }
    {
      ConvAlgoScope scope(kernels::CpuConvAlgo::DirectTiled);
      tiled = kernels::conv2d(x, w, b, c.p);
    }
    CHECK(test::bit_equal(rows, tiled));
    ++checked;
  }
  CHECK(checked == 6);
}

TEST_CASE("conv2d: the CPU algorithm's names, parsing, and the report naming it") {
  for (kernels::CpuConvAlgo a : {kernels::CpuConvAlgo::Auto, kernels::CpuConvAlgo::Im2col,
                                 kernels::CpuConvAlgo::DirectRows, kernels::CpuConvAlgo::DirectTiled,
                                 kernels::CpuConvAlgo::Winograd})
    CHECK(kernels::parse_cpu_conv_algo(kernels::cpu_conv_algo_name(a)) == a);
  CHECK_THROWS_WITH_AS(kernels::parse_cpu_conv_algo("fft"), doctest::Contains("'fft'"), Error);
  ConvAlgoScope scope(kernels::CpuConvAlgo::DirectRows);
  CHECK(kernels::cpu_report().find("convolution rows") != std::string::npos);
}

TEST_CASE("conv2d: gradcheck through the direct rows, the tiled kernels and Winograd") {
  for (kernels::CpuConvAlgo algo :
       {kernels::CpuConvAlgo::DirectRows, kernels::CpuConvAlgo::DirectTiled, kernels::CpuConvAlgo::Winograd}) {
    ConvAlgoScope scope(algo);
    INFO("algorithm " << int(algo));
    expect_gradients_match(
        [](auto& t) {
          return conv2d(t[0], t[1], t[2], Conv2dParams{1, 1, 2, 1, 1, 2, 1});
        },
        {random_tensor(Shape{2, 3, 5, 18}, 11), random_tensor(Shape{3, 3, 3, 3}, 12), random_tensor(Shape{3}, 13)});
    expect_gradients_match(
        [](auto& t) {
          return conv2d(t[0], t[1], t[2], Conv2dParams{2, 1, 1, 1, 1, 1, 2});
        },
        {random_tensor(Shape{2, 4, 6, 7}, 14), random_tensor(Shape{2, 2, 3, 3}, 15), random_tensor(Shape{2}, 16)});
    expect_gradients_match(
        [](auto& t) {
          return conv2d(t[0], t[1], t[2], Conv2dParams{1, 1, 1, 1, 1, 1, 1});
        },
        {random_tensor(Shape{2, 3, 5, 7}, 17), random_tensor(Shape{4, 3, 3, 3}, 18), random_tensor(Shape{4}, 19)});
  }
}

TEST_CASE("conv2d: bad shapes are clear errors") {
  Tensor x = Tensor::zeros(Shape{1, 3, 8, 8});
  CHECK_THROWS_WITH_AS(kernels::conv2d(x, Tensor::zeros(Shape{4, 2, 3, 3}), Tensor(), {}),
                       doctest::Contains("do not match for 1 groups"), Error);
  CHECK_THROWS_WITH_AS(kernels::conv2d(x, Tensor::zeros(Shape{4, 3, 9, 9}), Tensor(), {}),
                       doctest::Contains("larger than the padded input"), Error);
  CHECK_THROWS_WITH_AS(kernels::conv2d(Tensor::zeros(Shape{3, 8, 8}), Tensor::zeros(Shape{4, 3, 3, 3}), Tensor(), {}),
                       doctest::Contains("expected input [N, C, H, W]"), Error);
  CHECK_THROWS_WITH_AS(kernels::conv2d(x, Tensor::zeros(Shape{4, 3, 3, 3}), Tensor::zeros(Shape{3}), {}),
                       doctest::Contains("bias [3] does not match 4 output channels"), Error);
  Conv2dParams bad;
  bad.stride_h = 0;
  CHECK_THROWS_WITH_AS(kernels::conv2d(x, Tensor::zeros(Shape{4, 3, 3, 3}), Tensor(), bad),
                       doctest::Contains("invalid parameters"), Error);
}

TEST_CASE("conv2d with TF32 stays within the TF32 error bound [cuda]") {
  REQUIRE_CUDA_OR_SKIP();
  bool previous = allow_tf32();
  set_allow_tf32(true);
  Tensor x = random_tensor(Shape{2, 64, 32, 32}, 83), w = random_tensor(Shape{64, 64, 3, 3}, 84);
  Tensor gpu = kernels::conv2d(raw::to_device(x, Device::cuda()), raw::to_device(w, Device::cuda()), Tensor(),
                               Conv2dParams{1, 1, 1, 1, 1, 1, 1});
  set_allow_tf32(previous);
  // 576 products of |x|,|w| <= 1, each rounded to a 10-bit mantissa: error well below 576 * 2^-10.
  CHECK_CLOSE(raw::to_device(gpu, Device::cpu()), kernels::conv2d(x, w, Tensor(), Conv2dParams{1, 1, 1, 1, 1, 1, 1}),
              0.1, 0.01);
}

TEST_CASE("cuDNN algorithm choices are cached per shape and math mode [cuda]") {
  REQUIRE_CUDA_OR_SKIP();
  bool previous = allow_tf32();
  set_allow_tf32(true);
  // A shape no other test uses, so that its cache entries are new here.
  Tensor x = random_tensor(Shape{2, 8, 17, 19}, 85, -1, 1, Device::cuda());
  Tensor w = random_tensor(Shape{8, 8, 3, 3}, 86, -1, 1, Device::cuda());
  Conv2dParams p{1, 1, 1, 1, 1, 1, 1};
  size_t before = kernels::cudnn::conv_algorithm_cache_size();
  kernels::conv2d(x, w, Tensor(), p);
  CHECK(kernels::cudnn::conv_algorithm_cache_size() == before + 1);
  kernels::conv2d(x, w, Tensor(), p);  // the same key: chosen once
  CHECK(kernels::cudnn::conv_algorithm_cache_size() == before + 1);
  set_allow_tf32(false);  // strict FP32 ranks other algorithms: a key of its own
  kernels::conv2d(x, w, Tensor(), p);
  CHECK(kernels::cudnn::conv_algorithm_cache_size() == before + 2);
  set_allow_tf32(previous);
}

// Layers (issue 3): cuDNN against im2col + OpenBLAS, cuDNN batch norm against the CPU loops.
PARITY("conv2d_3x3", 1e-4, 1e-4,
       ({random_tensor(Shape{2, 8, 17, 19}, 60), random_tensor(Shape{16, 8, 3, 3}, 61), random_tensor(Shape{16}, 62)}),
       conv2d(x[0], x[1], x[2], Conv2dParams{1, 1, 1, 1, 1, 1, 1}))

PARITY("conv2d_stride2_dilated_grouped", 1e-4, 1e-4,
       ({random_tensor(Shape{2, 8, 16, 16}, 63), random_tensor(Shape{12, 4, 3, 3}, 64), random_tensor(Shape{12}, 65)}),
       conv2d(x[0], x[1], x[2], Conv2dParams{2, 2, 2, 2, 2, 2, 2}))

PARITY("conv2d_depthwise_blur", 1e-5, 1e-4,
       ({random_tensor(Shape{2, 3, 32, 32}, 66), random_tensor(Shape{3, 1, 13, 13}, 67)}),
       conv2d(x[0], x[1], Tensor(), Conv2dParams{1, 1, 0, 0, 1, 1, 3}))

// The CPU's tiled direct kernels (7x7 to 3 channels, rows of 37: a partial tile) and direct rows
// (stride 2, 2 output channels) against cuDNN.
PARITY("conv2d_7x7_to_3_tiled", 1e-4, 1e-4,
       ({random_tensor(Shape{2, 16, 11, 37}, 71), random_tensor(Shape{3, 16, 7, 7}, 72), random_tensor(Shape{3}, 73)}),
       conv2d(x[0], x[1], x[2], Conv2dParams{1, 1, 3, 3, 1, 1, 1}))

PARITY("conv2d_stride2_direct_rows", 1e-4, 1e-4,
       ({random_tensor(Shape{2, 5, 13, 17}, 74), random_tensor(Shape{2, 5, 5, 5}, 75), random_tensor(Shape{2}, 76)}),
       conv2d(x[0], x[1], x[2], Conv2dParams{2, 2, 2, 2, 1, 1, 1}))

PARITY("conv2d_7x7_pointwise", 1e-4, 1e-4,
       ({random_tensor(Shape{2, 6, 20, 20}, 68), random_tensor(Shape{5, 6, 7, 7}, 69),
         random_tensor(Shape{4, 5, 1, 1}, 70)}),
       conv2d(conv2d(x[0], x[1], Tensor(), Conv2dParams{1, 1, 3, 3, 1, 1, 1}), x[2], Tensor(), Conv2dParams{}))

}  // TEST_SUITE
