// The CPU's vector-instruction versions (kernels/cpu_isa.h): the names, the cap, and the claim that
// every version of anima's own loops gives the same bits (element loops, convolution rows and
// tiles, Winograd's transforms, resampling rows, reductions, softmax).
#include "kernels/conv.h"
#include "kernels/augment.h"
#include "kernels/conv_winograd.h"
#include "kernels/cpu_isa.h"
#include "kernels/cpu_report.h"
#include "kernels/elementwise.h"
#include "kernels/grid_sample.h"
#include "kernels/random.h"
#include "kernels/reduce.h"
#include "kernels/resample.h"
#include "kernels/softmax.h"
#include "tests/test_util.h"

using namespace anima;
namespace K = anima::kernels;
using test::random_tensor;

namespace {

struct IsaScope {
  explicit IsaScope(K::CpuIsa isa) : previous(K::set_cpu_isa(isa)) {}
  ~IsaScope() { K::set_cpu_isa(previous); }
  K::CpuIsa previous;
};

struct AlgoScope {
  explicit AlgoScope(K::CpuConvAlgo algo) : previous(K::cpu_conv_algo()) { K::set_cpu_conv_algo(algo); }
  ~AlgoScope() { K::set_cpu_conv_algo(previous); }
  K::CpuConvAlgo previous;
};

// Every result below, computed with the loops of one version.
std::vector<std::pair<std::string, Tensor>> run_ops() {
  std::vector<std::pair<std::string, Tensor>> r;
  // sizes that leave a remainder after every vector width, and reach the threaded paths
  Tensor x = random_tensor({2, 37, 21, 23}, 1, -30.f, 30.f);
  Tensor y = random_tensor({2, 37, 21, 23}, 2, 0.5f, 2.f);
  Tensor bias = random_tensor({1, 37, 1, 1}, 3);
  Tensor g = random_tensor({2, 37, 21, 23}, 4);
  r.push_back({"exp", K::exp(x)});
  Tensor s = K::sigmoid(x);
  r.push_back({"sigmoid", s});
  r.push_back({"sigmoid_backward", K::sigmoid_backward(g, s)});
  r.push_back({"tanh", K::tanh(x)});
  r.push_back({"log", K::log(y)});
  r.push_back({"div", K::div(x, y)});
  r.push_back({"add broadcast", K::add(x, bias)});
  r.push_back({"mul broadcast", K::mul(bias, x)});
  r.push_back({"leaky_relu", K::leaky_relu(x, 0.2f)});
  r.push_back({"pow", K::pow_scalar(y, 1.7f)});
  r.push_back({"sum over H, W", K::sum(x, {2, 3})});
  r.push_back({"amax over C", K::amax(x, {1})});
  r.push_back({"softmax over C", K::softmax(x, 1)});
  r.push_back({"softmax backward", K::softmax_backward(g, K::softmax(x, 1), 1)});
  // the fused softmax's row kernels: the last dimension, one chunk and several
  for (Shape rs : {Shape{2 * 37, 21 * 23}, Shape{3, 9001}}) {
    Tensor xr = random_tensor(rs, 11, -30.f, 30.f), gr = random_tensor(rs, 12);
    std::string name = " over rows " + rs.str();
    Tensor sr = K::softmax(xr, 1), lr = K::log_softmax(xr, 1);
    r.push_back({"softmax" + name, sr});
    r.push_back({"softmax backward" + name, K::softmax_backward(gr, sr, 1)});
    r.push_back({"log_softmax" + name, lr});
    r.push_back({"log_softmax backward" + name, K::log_softmax_backward(gr, lr, 1)});
  }
  Tensor lc = K::log_softmax(x, 1);
  r.push_back({"log_softmax over C", lc});
  r.push_back({"log_softmax backward over C", K::log_softmax_backward(g, lc, 1)});
  InterpParams ip;
  ip.out_h = 42;
  ip.out_w = 46;
  ip.scale_h = ip.scale_w = 2.0;
  r.push_back({"interpolate", K::interpolate(x, ip)});
  r.push_back({"avg_pool2d", K::avg_pool2d(x, 2, 2, 2, 2)});
  K::MaxPoolResult pool = K::max_pool2d(x, 2, 2, 0);
  r.push_back({"max_pool2d 2x2", pool.out});
  r.push_back({"max_pool2d 2x2 indices", pool.indices});
  r.push_back({"max_pool2d 2x2 backward", K::max_pool2d_backward(random_tensor(pool.out.shape(), 8), pool.indices,
                                                                  x.shape(), 2, 2, 0)});
  r.push_back({"poisson lambda 20 (a partial last block)", K::poisson(Shape{1003}, 20.0, 4, 9)});
  r.push_back({"poisson lambda 150 (5 parts)", K::poisson(Shape{200}, 150.0, 5, 1)});
  Generator gen(7);
  r.push_back({"normal (a partial last group)", K::normal(Shape{3, 7, 5, 11}, 0.5f, 2.f, gen, Device::cpu())});
  // grid_sample's blocked loops (taps, gathers) in each mode and padding, forward and both gradients
  Tensor grid = random_tensor({2, 19, 17, 2}, 5, -1.3f, 1.3f), ggo = random_tensor({2, 37, 19, 17}, 6);
  for (GridMode mode : {GridMode::Bilinear, GridMode::Nearest})
    for (GridPadding pad : {GridPadding::Zeros, GridPadding::Border, GridPadding::Reflection}) {
      GridSampleOptions o{mode, pad, pad == GridPadding::Border};
      std::string name = "grid_sample mode " + std::to_string(int(mode)) + " padding " + std::to_string(int(pad));
      r.push_back({name, K::grid_sample(x, grid, o)});
      K::GridSampleGrads d = K::grid_sample_backward(ggo, x, grid, o, true, true);
      r.push_back({name + " input gradient", d.input});
      r.push_back({name + " grid gradient", d.grid});
    }
  // convolutions through each CPU algorithm that has vectorised loops of its own
  Tensor cx = random_tensor({2, 16, 19, 21}, 5);
  Tensor cw = random_tensor({5, 16, 3, 3}, 6, -0.2f, 0.2f);
  Tensor cw_wide = random_tensor({24, 16, 3, 3}, 7, -0.2f, 0.2f);
  Tensor cb = random_tensor({5}, 8), cb_wide = random_tensor({24}, 10);
  Conv2dParams p;
  p.pad_h = p.pad_w = 1;
  for (K::CpuConvAlgo algo : {K::CpuConvAlgo::DirectRows, K::CpuConvAlgo::DirectTiled, K::CpuConvAlgo::Winograd}) {
    AlgoScope scope(algo);
    std::string name = std::string("conv2d ") + K::cpu_conv_algo_name(algo);
    bool wide = algo == K::CpuConvAlgo::Winograd;
    const Tensor& w = wide ? cw_wide : cw;
    Tensor out = K::conv2d(cx, w, wide ? cb_wide : cb, p);
    Tensor go = random_tensor(out.shape(), 9);
    r.push_back({name + " forward", out});
    r.push_back({name + " input gradient", K::conv2d_backward_input(go, w, cx.shape(), p)});
    r.push_back({name + " weight gradient", K::conv2d_backward_weight(go, cx, w.shape(), p)});
  }
  {  // Winograd F(4x4, 3x3)'s transforms (Auto takes them on larger maps only)
    K::ops::ConvGeometry g{16, 19, 21, 3, 3, 19, 21, 1, 1, 1, 1, 1, 1};
    Tensor out = Tensor::empty(Shape{2, 24, 19, 21});
    K::winograd::forward(g, 2, 24, cx.data<float>(), cw_wide.data<float>(), cb_wide.data<float>(), out.data<float>(), 0,
                         K::winograd::Tile::F4x4);
    r.push_back({"conv2d winograd F(4x4, 3x3) forward", out});
  }
  return r;
}

}  // namespace

TEST_SUITE("kernels") {

TEST_CASE("cpu_isa: names, the cap, and the report") {
  for (K::CpuIsa isa : {K::CpuIsa::Avx512, K::CpuIsa::Avx2, K::CpuIsa::Baseline})
    CHECK(K::parse_cpu_isa(K::cpu_isa_name(isa)) == isa);
  CHECK_THROWS_WITH_AS(K::parse_cpu_isa("avx3"), doctest::Contains("choose avx512, avx2 or baseline"), Error);
  {
    IsaScope scope(K::CpuIsa::Baseline);
    CHECK(K::cpu_isa() == K::CpuIsa::Baseline);
    CHECK(K::cpu_report().find("vector loops baseline") != std::string::npos);
    K::set_cpu_isa(K::CpuIsa::Avx512);  // a cap above the CPU gives what the CPU runs
    CHECK(K::cpu_isa() == K::cpu_isa_supported());
  }
}

// In a CUDA build nvcc compiles the .cu element loops once (kernels/launch.h), so there the
// comparison has teeth for the convolutions only; the CPU-only build (CI runs both) checks all.
TEST_CASE("cpu_isa: every vector-instruction version of anima's CPU loops gives the same bits") {
  if (K::cpu_isa_supported() == K::CpuIsa::Baseline) {
    test::mark_skipped("this CPU has neither AVX2 nor AVX-512: one version only");
    return;
  }
  std::vector<std::pair<std::string, Tensor>> baseline;
  {
    IsaScope scope(K::CpuIsa::Baseline);
    baseline = run_ops();
  }
  for (K::CpuIsa isa : {K::CpuIsa::Avx2, K::CpuIsa::Avx512}) {
    if (int(isa) > int(K::cpu_isa_supported())) continue;
    IsaScope scope(isa);
    REQUIRE(K::cpu_isa() == isa);
    auto other = run_ops();
    REQUIRE(other.size() == baseline.size());
    for (size_t i = 0; i < other.size(); ++i) {
      INFO(K::cpu_isa_name(isa), ": ", other[i].first);
      CHECK(test::bit_equal(other[i].second, baseline[i].second));
    }
  }
}

}  // TEST_SUITE
