// Convolution, normalisation and resampling against PyTorch goldens (tests/golden/), the
// reference loops, and finite differences.
#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "autograd/nn_functions.h"
#include "kernels/batch_norm.h"
#include "kernels/conv.h"
#include "kernels/cpu_blas.h"
#include "kernels/cpu_report.h"
#include "formats/safetensors.h"
#include "tests/test_util.h"

using namespace anima;
using test::expect_gradients_match;
using test::random_tensor;
using test::tensor;

namespace {

const SafetensorsFile& golden(const std::string& name) {
  static std::map<std::string, SafetensorsFile> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, load_safetensors(test::golden_path(name))).first;
  return it->second;
}

Tensor leaf(const Tensor& t) {
  Tensor c = raw::to_device(t, t.device());
  c.set_requires_grad(true);
  return c;
}

// Runs `fn` on leaf copies of the golden inputs `names`, backpropagates the golden gy, and
// compares y and every input gradient.
void check_against_golden(const SafetensorsFile& g, const std::string& prefix,
                          const std::vector<std::string>& names,
                          const std::function<Tensor(const std::vector<Tensor>&)>& fn, double atol,
                          double rtol) {
  INFO("golden case " << prefix);
  std::vector<Tensor> in;
  for (const std::string& n : names) in.push_back(leaf(g.at(prefix + "." + n)));
  Tensor y = fn(in);
  CHECK_CLOSE(y, g.at(prefix + ".y"), atol, rtol);
  y.backward(g.at(prefix + ".gy"));
  for (size_t k = 0; k < names.size(); ++k) {
    INFO("gradient of " << names[k]);
    CHECK_CLOSE(in[k].grad(), g.at(prefix + ".grad_" + names[k]), atol, rtol);
  }
}


}  // namespace

TEST_SUITE("kernels") {

TEST_CASE("conv2d matches PyTorch: stride, padding, dilation, groups, depthwise, pointwise") {
  const SafetensorsFile& g = golden("conv2d.safetensors");
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
    check_against_golden(g, c.name, {"x", "w", "b"},
                         [p](const std::vector<Tensor>& t) { return conv2d(t[0], t[1], t[2], p); },
                         1e-5, 1e-4);
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
  expect_gradients_match([p](auto& t) { return conv2d(t[0], t[1], t[2], p); },
                         {random_tensor(Shape{2, 4, 5, 5}, 4), random_tensor(Shape{4, 2, 3, 3}, 5),
                          random_tensor(Shape{4}, 6)});
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
                                 kernels::CpuConvAlgo::DirectRows, kernels::CpuConvAlgo::DirectTiled})
    CHECK(kernels::parse_cpu_conv_algo(kernels::cpu_conv_algo_name(a)) == a);
  CHECK_THROWS_WITH_AS(kernels::parse_cpu_conv_algo("fft"), doctest::Contains("'fft'"), Error);
  ConvAlgoScope scope(kernels::CpuConvAlgo::DirectRows);
  CHECK(kernels::cpu_report().find("convolution rows") != std::string::npos);
}

TEST_CASE("conv2d: gradcheck through the direct rows and the tiled kernels") {
  for (kernels::CpuConvAlgo algo : {kernels::CpuConvAlgo::DirectRows, kernels::CpuConvAlgo::DirectTiled}) {
    ConvAlgoScope scope(algo);
    INFO("algorithm " << int(algo));
    expect_gradients_match([](auto& t) { return conv2d(t[0], t[1], t[2], Conv2dParams{1, 1, 2, 1, 1, 2, 1}); },
                           {random_tensor(Shape{2, 3, 5, 18}, 11), random_tensor(Shape{3, 3, 3, 3}, 12),
                            random_tensor(Shape{3}, 13)});
    expect_gradients_match([](auto& t) { return conv2d(t[0], t[1], t[2], Conv2dParams{2, 1, 1, 1, 1, 1, 2}); },
                           {random_tensor(Shape{2, 4, 6, 7}, 14), random_tensor(Shape{2, 2, 3, 3}, 15),
                            random_tensor(Shape{2}, 16)});
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

TEST_CASE("batch_norm training matches PyTorch, including the running statistics") {
  const SafetensorsFile& g = golden("norm.safetensors");
  Tensor rm = raw::to_device(g.at("bn.running_mean_before"), Device::cpu());
  Tensor rv = raw::to_device(g.at("bn.running_var_before"), Device::cpu());
  check_against_golden(g, "bn", {"x", "w", "b"},
                       [&](const std::vector<Tensor>& t) {
                         return batch_norm(t[0], t[1], t[2], rm, rv, true, 0.1, 1e-5);
                       },
                       1e-5, 1e-4);
  CHECK_CLOSE(rm, g.at("bn.running_mean_after"), 1e-6, 1e-5);
  CHECK_CLOSE(rv, g.at("bn.running_var_after"), 1e-6, 1e-5);
}

TEST_CASE("batch_norm evaluation and instance_norm match PyTorch") {
  const SafetensorsFile& g = golden("norm.safetensors");
  Tensor rm = g.at("bn.running_mean_after"), rv = g.at("bn.running_var_after");
  check_against_golden(g, "bn_eval", {"x", "w", "b"},
                       [&](const std::vector<Tensor>& t) {
                         return batch_norm(t[0], t[1], t[2], rm, rv, false, 0.1, 1e-5);
                       },
                       1e-5, 1e-4);
  check_against_golden(g, "in", {"x", "w", "b"},
                       [](const std::vector<Tensor>& t) { return instance_norm(t[0], t[1], t[2], 1e-5); },
                       1e-5, 1e-4);
}

TEST_CASE("batch_norm and instance_norm: gradcheck") {
  expect_gradients_match(
      [](auto& t) { return batch_norm(t[0], t[1], t[2], Tensor(), Tensor(), true); },
      {random_tensor(Shape{3, 2, 3, 2}, 10, -2, 2), random_tensor(Shape{2}, 11), random_tensor(Shape{2}, 12)});
  expect_gradients_match([](auto& t) { return instance_norm(t[0], t[1], t[2]); },
                         {random_tensor(Shape{2, 2, 3, 3}, 13, -2, 2), random_tensor(Shape{2}, 14),
                          random_tensor(Shape{2}, 15)});
  CHECK_THROWS_WITH_AS(kernels::batch_norm_train(Tensor::zeros(Shape{1, 2, 1, 1}), Tensor::ones(Shape{2}),
                                                 Tensor::zeros(Shape{2}), Tensor::zeros(Shape{2}),
                                                 Tensor::ones(Shape{2}), 0.1, 1e-5),
                       doctest::Contains("more than one value per channel"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(Tensor::zeros(Shape{2, 2, 2, 2}), Tensor::ones(Shape{3}), Tensor(), Tensor(), Tensor(), true),
                       doctest::Contains("per-channel tensor [3] does not match 2 channels"), Error);
}

TEST_CASE("avg_pool2d and interpolate match PyTorch") {
  const SafetensorsFile& g = golden("resample.safetensors");
  auto one = [&](const char* name, std::function<Tensor(const Tensor&)> f) {
    check_against_golden(g, name, {"x"}, [f](const std::vector<Tensor>& t) { return f(t[0]); }, 1e-6, 1e-5);
  };
  one("avg2", [](const Tensor& x) { return avg_pool2d(x, 2); });
  one("avg3s2p1", [](const Tensor& x) { return avg_pool2d(x, 3, 2, 1); });
  for (bool ac : {false, true}) {
    std::string tag = ac ? "ac1" : "ac0";
    InterpParams up{11, 13, InterpMode::Bilinear, ac, {}, {}};
    InterpParams down{4, 3, InterpMode::Bilinear, ac, {}, {}};
    one(("bilinear_up_" + tag).c_str(), [up](const Tensor& x) { return interpolate(x, up); });
    one(("bilinear_down_" + tag).c_str(), [down](const Tensor& x) { return interpolate(x, down); });
  }
  one("bilinear_scale_0.25", [](const Tensor& x) { return interpolate_scale(x, 0.25, InterpMode::Bilinear); });
  one("bilinear_scale_1.5", [](const Tensor& x) { return interpolate_scale(x, 1.5, InterpMode::Bilinear); });
  InterpParams near{9, 5, InterpMode::Nearest, false, {}, {}};
  one("nearest_size", [near](const Tensor& x) { return interpolate(x, near); });
  one("nearest_x2", [](const Tensor& x) { return upsample_nearest(x, 2); });
}

TEST_CASE("pooling, resampling, padding and losses: gradcheck") {
  Tensor x = random_tensor(Shape{1, 2, 5, 6}, 20);
  expect_gradients_match([](auto& t) { return avg_pool2d(t[0], 3, 2, 1); }, {x});
  // Non-overlapping windows (the CPU's row path), with rows and columns no window covers.
  expect_gradients_match([](auto& t) { return avg_pool2d(t[0], 2); }, {x});
  expect_gradients_match([](auto& t) { return avg_pool2d(t[0], 2, 3, 0); }, {x});
  expect_gradients_match([](auto& t) { return avg_pool2d(t[0], 3, 3, 1); }, {x});
  expect_gradients_match([](auto& t) { return interpolate(t[0], InterpParams{7, 4, InterpMode::Bilinear, false, {}, {}}); }, {x});
  expect_gradients_match([](auto& t) { return interpolate(t[0], InterpParams{3, 9, InterpMode::Bilinear, true, {}, {}}); }, {x});
  expect_gradients_match([](auto& t) { return upsample_nearest(t[0], 2); }, {x});
  expect_gradients_match([](auto& t) { return pad2d(t[0], 1, 2, 0, 3, 0.5f); }, {x});
  Tensor target = random_tensor(Shape{1, 2, 5, 6}, 21);
  expect_gradients_match([target](auto& t) { return mse_loss(t[0], target); }, {x});
  expect_gradients_match([target](auto& t) { return mse_loss(t[0], target, Reduction::Sum); }, {x});
  // l1 away from its kink: prediction and target differ everywhere by at least 0.1.
  expect_gradients_match([target](auto& t) { return l1_loss(t[0], target); }, {target + 0.5f});
  expect_gradients_match([](auto& t) { return linear(t[0], t[1], t[2]); },
                         {random_tensor(Shape{3, 4}, 22), random_tensor(Shape{5, 4}, 23), random_tensor(Shape{5}, 24)});
}

TEST_CASE("resampling values by hand, and errors") {
  Tensor x = tensor({1, 2, 3, 4}, Shape{1, 1, 2, 2});
  CHECK(upsample_nearest(x, 2).to_vector<float>() ==
        std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  CHECK(avg_pool2d(x, 2).item() == 2.5f);
  CHECK(pad2d(x, 1, 0, 0, 1, 9.f).to_vector<float>() == std::vector<float>{9, 9, 9, 1, 2, 9, 3, 4, 9});
  CHECK(interpolate(x, InterpParams{3, 3, InterpMode::Bilinear, true, {}, {}}).to_vector<float>() ==
        std::vector<float>{1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4});
  CHECK(l1_loss(x, x * 2.f).item() == 2.5f);
  CHECK(mse_loss(x, x * 2.f, Reduction::Sum).item() == 30.f);
  CHECK_THROWS_WITH_AS(avg_pool2d(x, 3), doctest::Contains("larger than the padded input"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, InterpParams{0, 3, InterpMode::Bilinear, false, {}, {}}),
                       doctest::Contains("output size 0x3 must be positive"), Error);
  CHECK_THROWS_WITH_AS(l1_loss(x, tensor({1}, Shape{1})), doctest::Contains("l1_loss: prediction [1, 1, 2, 2] and target [1]"), Error);
  CHECK_THROWS_WITH_AS(pad2d(x, -1, 0, 0, 0), doctest::Contains("negative padding"), Error);
}

}  // TEST_SUITE
