// CUDA-vs-CPU parity: every op with a CUDA path runs on both devices from the same inputs, and
// the outputs and the input gradients (through a fixed random projection) must agree within the
// stated tolerance |gpu - cpu| <= atol + rtol * |cpu|.
//
// Each PARITY case is a test case that needs a GPU (skipped without one). The same table also
// runs CPU-against-CPU in one harness check, so the cases themselves are exercised in CI.
#include <functional>

#include "autograd/functions.h"
#include "models/fomm/geometry.h"
#include "kernels/augment.h"
#include "kernels/color.h"
#include "kernels/cudnn_backend.h"
#include "kernels/select.h"
#include "autograd/nn_functions.h"
#include "kernels/math_mode.h"
#include "kernels/elementwise.h"
#include "kernels/random.h"
#include "kernels/grid_sample.h"
#include "kernels/resample.h"
#include "kernels/shape_ops.h"
#include "layers/optim.h"
#include "tests/test_util.h"

using namespace anima;
using test::away_from_zero;
using test::random_tensor;
using test::tensor;

namespace {

struct ParityCase {
  const char* name;
  double atol, rtol;
  std::function<std::vector<Tensor>()> inputs;  // on the CPU; float32 inputs get gradients
  std::function<Tensor(const std::vector<Tensor>&)> fn;
};

std::vector<ParityCase>& registry() {
  static std::vector<ParityCase> cases;
  return cases;
}

bool register_case(ParityCase c) {
  registry().push_back(std::move(c));
  return true;
}

const ParityCase& find_case(const char* name) {
  for (const ParityCase& c : registry())
    if (std::string(c.name) == name) return c;
  ANIMA_FAIL("no parity case ", name);
}

struct Run {
  Tensor out;
  std::vector<Tensor> grads;
};

Run run_on(const ParityCase& c, Device device) {
  std::vector<Tensor> inputs;
  for (const Tensor& t : c.inputs()) {
    Tensor d = raw::to_device(t, device);
    if (d.dtype() == DType::F32) d.set_requires_grad(true);
    inputs.push_back(d);
  }
  Run r;
  r.out = c.fn(inputs);
  if (r.out.requires_grad()) {
    Generator gen(77);
    Tensor v = kernels::randn(r.out.shape(), gen, device);
    sum(r.out * v).backward();
  }
  for (const Tensor& t : inputs) r.grads.push_back(t.grad());
  return r;
}

// Parity is checked in strict FP32 (TF32 convolutions are tested on their own, with the
// tolerance TF32's 10-bit mantissa implies).
struct StrictFp32 {
  bool previous = allow_tf32();
  StrictFp32() { set_allow_tf32(false); }
  ~StrictFp32() { set_allow_tf32(previous); }
};

void check_parity(const ParityCase& c, Device other) {
  INFO("parity case: " << c.name << " on " << other.str());
  StrictFp32 strict;
  Run ref = run_on(c, Device::cpu());
  Run got = run_on(c, other);
  REQUIRE(got.out.device() == other);
  Tensor out = raw::to_device(got.out, Device::cpu());
  if (ref.out.dtype() != DType::F32) {
    CHECK(kernels::cast(out, DType::F32).to_vector<float>() ==
          kernels::cast(ref.out, DType::F32).to_vector<float>());
  } else {
    CHECK_CLOSE(out, ref.out, c.atol, c.rtol);
  }
  REQUIRE(got.grads.size() == ref.grads.size());
  for (size_t i = 0; i < ref.grads.size(); ++i) {
    INFO("gradient of input " << i);
    REQUIRE(got.grads[i].defined() == ref.grads[i].defined());
    if (ref.grads[i].defined())
      CHECK_CLOSE(raw::to_device(got.grads[i], Device::cpu()), ref.grads[i], c.atol, c.rtol);
  }
}


}  // namespace

#define ANIMA_CAT2(a, b) a##b
#define ANIMA_CAT(a, b) ANIMA_CAT2(a, b)
#define PARITY(NAME, ATOL, RTOL, INPUTS, FN)                                                    \
  static const bool ANIMA_CAT(parity_registered_, __LINE__) =                                   \
      register_case({NAME, ATOL, RTOL, [] { return std::vector<Tensor> INPUTS; },              \
                     [](const std::vector<Tensor>& x) -> Tensor { return FN; }});               \
  TEST_CASE("CUDA-vs-CPU parity: " NAME " [cuda]") {                                            \
    REQUIRE_CUDA_OR_SKIP();                                                                     \
    check_parity(find_case(NAME), Device::cuda());                                              \
  }

TEST_SUITE("kernels") {

// Transcendental functions: CUDA's expf/logf/tanhf are within 2 ulp of the correctly rounded value.
PARITY("neg", 0, 0, ({random_tensor(Shape{1000}, 1)}), neg(x[0]))
PARITY("exp", 1e-6, 1e-5, ({random_tensor(Shape{1000}, 2, -3, 3)}), exp(x[0]))
PARITY("log", 1e-6, 1e-5, ({random_tensor(Shape{1000}, 3, 0.1f, 5)}), log(x[0]))
PARITY("sqrt", 1e-6, 1e-6, ({random_tensor(Shape{1000}, 4, 0.1f, 5)}), sqrt(x[0]))
PARITY("abs", 0, 0, ({away_from_zero(Shape{1000}, 5)}), abs(x[0]))
PARITY("relu", 0, 0, ({away_from_zero(Shape{1000}, 6)}), relu(x[0]))
PARITY("leaky_relu", 1e-7, 1e-6, ({away_from_zero(Shape{1000}, 7)}), leaky_relu(x[0], 0.2f))
PARITY("sigmoid", 1e-6, 1e-5, ({random_tensor(Shape{1000}, 8, -6, 6)}), sigmoid(x[0]))
PARITY("tanh", 1e-6, 1e-5, ({random_tensor(Shape{1000}, 9, -3, 3)}), tanh(x[0]))
PARITY("clamp", 0, 0, ({random_tensor(Shape{1000}, 10, -2, 2)}), clamp(x[0], -0.5f, 0.75f))
PARITY("pow_scalar", 1e-6, 1e-5, ({random_tensor(Shape{1000}, 11, 0.1f, 3)}), pow(x[0], 1.7f))
PARITY("scalar_arith", 1e-6, 1e-6, ({random_tensor(Shape{1000}, 12)}),
       rsub((x[0] + 1.5f) * 3.f / 7.f, 2.f))
PARITY("add_broadcast", 1e-6, 1e-6, ({random_tensor(Shape{4, 5, 6}, 13), random_tensor(Shape{5, 1}, 14)}),
       add(x[0], x[1]))
PARITY("sub_broadcast", 1e-6, 1e-6, ({random_tensor(Shape{4, 5, 6}, 15), random_tensor(Shape{6}, 16)}),
       sub(x[0], x[1]))
PARITY("mul_broadcast", 1e-6, 1e-6, ({random_tensor(Shape{4, 1, 6}, 17), random_tensor(Shape{5, 6}, 18)}),
       mul(x[0], x[1]))
PARITY("div_broadcast", 1e-6, 1e-5, ({random_tensor(Shape{4, 5, 6}, 19), random_tensor(Shape{4, 1, 1}, 20, 0.5f, 2)}),
       div(x[0], x[1]))
PARITY("pow_tensor", 1e-5, 1e-5, ({random_tensor(Shape{30}, 21, 0.5f, 2), random_tensor(Shape{30}, 22)}),
       pow(x[0], x[1]))
PARITY("maximum_minimum", 1e-6, 1e-6, ({random_tensor(Shape{100}, 23), random_tensor(Shape{100}, 24)}),
       maximum(x[0], x[1]) + minimum(x[0], x[1]) * 2.f)
PARITY("compare", 0, 0, ({random_tensor(Shape{200}, 25), random_tensor(Shape{200}, 26)}),
       cast(concat({cast(lt(x[0], x[1]), DType::F32), cast(ge(x[0], x[1]), DType::F32),
                    cast(eq(x[0], x[0]), DType::F32), cast(ne(x[0], x[1]), DType::F32)}, 0).detach(),
            DType::U8))
PARITY("where", 1e-7, 0, ({random_tensor(Shape{3, 40}, 27), random_tensor(Shape{40}, 28), random_tensor(Shape{3, 1}, 29)}),
       where(gt(x[0], Tensor::scalar(0.f, x[0].device())), x[1], x[2]))
PARITY("cast_roundtrip", 0, 0, ({random_tensor(Shape{100}, 30, -50, 50)}),
       cast(cast(cast(x[0].detach(), DType::I32), DType::I64), DType::F32))
PARITY("expand", 1e-6, 1e-6, ({random_tensor(Shape{3, 1, 4}, 31)}), expand(x[0], Shape{2, 3, 5, 4}))
PARITY("sum_dims", 1e-5, 1e-5, ({random_tensor(Shape{8, 16, 32}, 32)}), sum(x[0], {0, 2}))
PARITY("sum_all_large", 1e-2, 1e-5, ({random_tensor(Shape{1 << 20}, 33)}), sum(x[0]))
PARITY("sum_long_rows_split", 1e-2, 1e-5, ({random_tensor(Shape{3, 200000}, 34)}), sum(x[0], {1}))
PARITY("sum_many_short_rows", 1e-5, 1e-5, ({random_tensor(Shape{5000, 7}, 35)}), sum(x[0], {1}, true))
PARITY("mean", 1e-6, 1e-5, ({random_tensor(Shape{6, 1000}, 36)}), mean(x[0], {1}))
PARITY("amax_amin", 0, 0, ({random_tensor(Shape{16, 3000}, 37)}), amax(x[0], {1}) + amin(x[0], {1}))
PARITY("permute", 0, 0, ({random_tensor(Shape{2, 3, 4, 5}, 38)}), permute(x[0], {3, 1, 0, 2}))
PARITY("concat", 0, 0, ({random_tensor(Shape{2, 3, 4}, 39), random_tensor(Shape{2, 5, 4}, 40)}),
       concat({x[0], x[1]}, 1))
PARITY("slice", 0, 0, ({random_tensor(Shape{4, 10, 3}, 41)}), slice(x[0], 1, 1, 9, 3))
PARITY("matmul", 1e-4, 1e-4, ({random_tensor(Shape{3, 64, 48}, 42), random_tensor(Shape{3, 48, 80}, 43)}),
       matmul(x[0], x[1]))
PARITY("matmul_transposed_shared", 1e-4, 1e-4, ({random_tensor(Shape{2, 48, 64}, 44), random_tensor(Shape{80, 48}, 45)}),
       matmul(x[0], x[1], true, true))
PARITY("softmax", 1e-6, 1e-5, ({random_tensor(Shape{4, 11, 64}, 46, -3, 3)}), softmax(x[0], 1))
PARITY("log_softmax", 1e-5, 1e-5, ({random_tensor(Shape{4, 3364}, 47, -3, 3)}), log_softmax(x[0], -1))
PARITY("linspace_arange_eye", 0, 0, ({Tensor::zeros(Shape{1})}),
       concat({reshape(kernels::eye(5, 7, x[0].device()), {-1}), kernels::linspace(-1.f, 1.f, 64, x[0].device()),
               kernels::arange(0, 10, 0.5, DType::F32, x[0].device())}, 0))
PARITY("fill_add_inplace", 0, 0, ({random_tensor(Shape{300}, 48)}), [&] {
  Tensor t = Tensor::empty(Shape{300}, DType::F32, x[0].device());
  kernels::fill(t, 1.5);
  kernels::add_inplace(t, x[0].detach(), 2.f);
  return t;
}())
PARITY("add_scalar_inplace", 0, 0, ({random_tensor(Shape{300}, 49)}), [&] {
  Tensor t = x[0].detach().clone();
  kernels::add_scalar_(t, -0.375);
  return t;
}())
PARITY("flip", 0, 0, ({random_tensor(Shape{2, 3, 5, 7}, 50)}),
       concat({kernels::flip(x[0].detach(), 3), kernels::flip(x[0].detach(), 0), kernels::flip(x[0].detach(), 2)}, 1))

// Layers (issue 3): cuDNN against im2col + OpenBLAS, cuDNN batch norm against the CPU loops.
PARITY("conv2d_3x3", 1e-4, 1e-4, ({random_tensor(Shape{2, 8, 17, 19}, 60), random_tensor(Shape{16, 8, 3, 3}, 61), random_tensor(Shape{16}, 62)}),
       conv2d(x[0], x[1], x[2], Conv2dParams{1, 1, 1, 1, 1, 1, 1}))
PARITY("conv2d_stride2_dilated_grouped", 1e-4, 1e-4, ({random_tensor(Shape{2, 8, 16, 16}, 63), random_tensor(Shape{12, 4, 3, 3}, 64), random_tensor(Shape{12}, 65)}),
       conv2d(x[0], x[1], x[2], Conv2dParams{2, 2, 2, 2, 2, 2, 2}))
PARITY("conv2d_depthwise_blur", 1e-5, 1e-4, ({random_tensor(Shape{2, 3, 32, 32}, 66), random_tensor(Shape{3, 1, 13, 13}, 67)}),
       conv2d(x[0], x[1], Tensor(), Conv2dParams{1, 1, 0, 0, 1, 1, 3}))
// The CPU's tiled direct kernels (7x7 to 3 channels, rows of 37: a partial tile) and direct rows
// (stride 2, 2 output channels) against cuDNN.
PARITY("conv2d_7x7_to_3_tiled", 1e-4, 1e-4, ({random_tensor(Shape{2, 16, 11, 37}, 71), random_tensor(Shape{3, 16, 7, 7}, 72), random_tensor(Shape{3}, 73)}),
       conv2d(x[0], x[1], x[2], Conv2dParams{1, 1, 3, 3, 1, 1, 1}))
PARITY("conv2d_stride2_direct_rows", 1e-4, 1e-4, ({random_tensor(Shape{2, 5, 13, 17}, 74), random_tensor(Shape{2, 5, 5, 5}, 75), random_tensor(Shape{2}, 76)}),
       conv2d(x[0], x[1], x[2], Conv2dParams{2, 2, 2, 2, 1, 1, 1}))
PARITY("conv2d_7x7_pointwise", 1e-4, 1e-4, ({random_tensor(Shape{2, 6, 20, 20}, 68), random_tensor(Shape{5, 6, 7, 7}, 69), random_tensor(Shape{4, 5, 1, 1}, 70)}),
       conv2d(conv2d(x[0], x[1], Tensor(), Conv2dParams{1, 1, 3, 3, 1, 1, 1}), x[2], Tensor(), Conv2dParams{}))
PARITY("batch_norm_train", 1e-4, 1e-4, ({random_tensor(Shape{4, 6, 9, 7}, 71, -3, 3), random_tensor(Shape{6}, 72), random_tensor(Shape{6}, 73)}),
       batch_norm(x[0], x[1], x[2], Tensor(), Tensor(), true))
PARITY("batch_norm_eval_instance_norm", 1e-5, 1e-4, ({random_tensor(Shape{2, 3, 8, 8}, 74, -3, 3), random_tensor(Shape{3}, 75), random_tensor(Shape{3}, 76)}),
       batch_norm(instance_norm(x[0], x[1], x[2]), x[1], x[2], kernels::full(Shape{3}, 0.2, DType::F32, x[0].device()),
                  kernels::full(Shape{3}, 1.5, DType::F32, x[0].device()), false))
PARITY("avg_pool2d", 1e-6, 1e-5, ({random_tensor(Shape{2, 3, 15, 16}, 77)}), avg_pool2d(x[0], 3, 2, 1))
// Non-overlapping windows with an uncovered last row/column: the CPU's row path.
PARITY("avg_pool2d_non_overlapping", 1e-6, 1e-5, ({random_tensor(Shape{2, 3, 15, 16}, 81)}), avg_pool2d(x[0], 3, 3, 1))
PARITY("interpolate_bilinear", 1e-5, 1e-4, ({random_tensor(Shape{2, 3, 13, 17}, 78)}),
       interpolate(x[0], InterpParams{32, 40, InterpMode::Bilinear, false, {}, {}}))
PARITY("interpolate_bilinear_align_corners_down", 1e-5, 1e-4, ({random_tensor(Shape{2, 3, 64, 48}, 79)}),
       interpolate(x[0], InterpParams{16, 12, InterpMode::Bilinear, true, {}, {}}))
PARITY("interpolate_nearest_and_pad", 1e-6, 1e-5, ({random_tensor(Shape{1, 4, 9, 7}, 80)}),
       pad2d(upsample_nearest(x[0], 2), 1, 2, 3, 0, -1.f))

// Image-animation kernels (issue 4).
PARITY("grid_sample_bilinear_zeros", 1e-5, 1e-4, ({random_tensor(Shape{2, 4, 16, 12}, 90), random_tensor(Shape{2, 10, 9, 2}, 91, -1.2f, 1.2f)}),
       grid_sample(x[0], x[1], GridSampleOptions{GridMode::Bilinear, GridPadding::Zeros, false}))
PARITY("grid_sample_bilinear_reflection_ac", 1e-5, 1e-4, ({random_tensor(Shape{2, 3, 8, 8}, 92), random_tensor(Shape{2, 8, 8, 2}, 93, -1.5f, 1.5f)}),
       grid_sample(x[0], x[1], GridSampleOptions{GridMode::Bilinear, GridPadding::Reflection, true}))
PARITY("grid_sample_nearest_border", 1e-6, 1e-5, ({random_tensor(Shape{1, 3, 9, 7}, 94), random_tensor(Shape{1, 5, 6, 2}, 95, -1.2f, 1.2f)}),
       grid_sample(x[0], x[1], GridSampleOptions{GridMode::Nearest, GridPadding::Border, false}))

PARITY("max_pool2d", 0, 0, ({random_tensor(Shape{2, 4, 17, 16}, 100)}), max_pool2d(x[0], 3, 2, 1))
PARITY("max_pool2d_non_overlapping", 0, 0, ({random_tensor(Shape{2, 4, 17, 16}, 105)}), max_pool2d(x[0], 2, 2, 0))
PARITY("mean_abs_diff", 1e-6, 1e-5, ({random_tensor(Shape{4, 64, 33, 33}, 101), random_tensor(Shape{4, 64, 33, 33}, 102)}),
       mean_abs_diff(x[0], x[1]))
PARITY("kp2gaussian_heatmap_keypoints", 1e-5, 1e-4, ({random_tensor(Shape{2, 10, 2}, 103), random_tensor(Shape{2, 10, 16, 16}, 104)}),
       concat({reshape(fomm::kp2gaussian(x[0], 16, 16, 0.01f), {2, -1}), reshape(fomm::heatmap_to_keypoints(x[1], 0.1f).value, {2, -1})}, 1))
PARITY("inverse2x2_matmul2x2", 1e-5, 1e-5, ({random_tensor(Shape{2, 10, 2, 2}, 105, 0.5f, 1.5f), random_tensor(Shape{2, 10, 2, 2}, 106)}),
       fomm::matmul2x2(fomm::inverse2x2(x[0]), x[1]))
// Random augmentations: bit-identical draws, so results agree to the tolerance of the float
// arithmetic after them (Poisson counts and CutMix boxes exactly).
PARITY("poisson", 0, 0, ({Tensor::zeros(Shape{1})}), kernels::poisson(Shape{100000}, 20.0, 7, 3, x[0].device()))
PARITY("poisson_large_lambda", 0, 0, ({Tensor::zeros(Shape{1})}), kernels::poisson(Shape{1000}, 150.0, 7, 4, x[0].device()))
PARITY("kth_smallest_median", 0, 0, ({random_tensor(Shape{8, 4096}, 107)}), kernels::row_median(x[0].detach()))
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
PARITY("prioritycut_mask", 0, 0, ({random_tensor(Shape{4, 1, 64, 64}, 110, 0, 1), random_tensor(Shape{4, 1, 64, 64}, 111, 0, 1)}), [&] {
  Generator gen(15);
  return kernels::prioritycut_mask(x[0].detach(), x[1].detach(), 0.6, 0.1, 0.5, 256, 256, gen);
}())

PARITY("color_jitter", 1e-5, 1e-5, ({random_tensor(Shape{6, 3, 32, 32}, 112, 0, 1)}), [&] {
  Generator gen(16);
  return kernels::color_jitter(x[0].detach(), kernels::draw_color_jitter(6, 0.3f, 0.3f, 0.3f, 0.1f, gen));
}())

TEST_CASE("grid_sample backward on the GPU: deterministic mode is bit-reproducible [cuda]") {
  REQUIRE_CUDA_OR_SKIP();
  bool previous = deterministic();
  set_deterministic(true);
  Tensor x = random_tensor(Shape{2, 8, 32, 32}, 96, -1, 1, Device::cuda());
  Tensor grid = random_tensor(Shape{2, 64, 64, 2}, 97, -1, 1, Device::cuda());
  Tensor g = random_tensor(Shape{2, 8, 64, 64}, 98, -1, 1, Device::cuda());
  auto a = kernels::grid_sample_backward(g, x, grid, {}, true, true);
  auto b = kernels::grid_sample_backward(g, x, grid, {}, true, true);
  set_deterministic(previous);
  CHECK(test::bit_equal(a.input, b.input));
  CHECK(test::bit_equal(a.grid, b.grid));
  // and equal to the CPU's gradients within float tolerance
  auto c = kernels::grid_sample_backward(raw::to_device(g, Device::cpu()), raw::to_device(x, Device::cpu()),
                                         raw::to_device(grid, Device::cpu()), {}, true, true);
  CHECK_CLOSE(raw::to_device(a.input, Device::cpu()), c.input, 1e-5, 1e-4);
  CHECK_CLOSE(raw::to_device(a.grid, Device::cpu()), c.grid, 1e-5, 1e-4);
}

TEST_CASE("Adam on the GPU equals Adam on the CPU over five steps [cuda]") {
  REQUIRE_CUDA_OR_SKIP();
  StrictFp32 strict;
  AdamOptions o{1e-2, 0.5, 0.9, 1e-8, 0.05};
  Tensor cpu = random_tensor(Shape{64, 33}, 120), gpu = raw::to_device(cpu, Device::cuda());
  cpu.set_requires_grad(true);
  gpu.set_requires_grad(true);
  Adam a({{"p", cpu}}, o), b({{"p", gpu}}, o);
  for (int step = 0; step < 5; ++step) {
    Tensor g = random_tensor(Shape{64, 33}, 121 + uint64_t(step));
    cpu.zero_grad();
    gpu.zero_grad();
    sum(cpu * g).backward();
    sum(gpu * raw::to_device(g, Device::cuda())).backward();
    a.step();
    b.step();
  }
  CHECK_CLOSE(raw::to_device(gpu.detach(), Device::cpu()), cpu.detach(), 1e-6, 1e-5);
}

TEST_CASE("interpolate backward on the GPU: deterministic mode is bit-reproducible [cuda]") {
  REQUIRE_CUDA_OR_SKIP();
  bool previous = deterministic();
  set_deterministic(true);
  Tensor x = random_tensor(Shape{2, 3, 32, 32}, 81, -1, 1, Device::cuda());
  Tensor g = random_tensor(Shape{2, 3, 100, 90}, 82, -1, 1, Device::cuda());
  InterpParams p{100, 90, InterpMode::Bilinear, false, {}, {}};
  Tensor a = kernels::interpolate_backward(g, x.shape(), p);
  Tensor b = kernels::interpolate_backward(g, x.shape(), p);
  set_deterministic(previous);
  CHECK(test::bit_equal(a, b));
  CHECK_CLOSE(raw::to_device(a, Device::cpu()),
              kernels::interpolate_backward(raw::to_device(g, Device::cpu()), x.shape(), p), 1e-5, 1e-5);
}

TEST_CASE("conv2d with TF32 stays within the TF32 error bound [cuda]") {
  REQUIRE_CUDA_OR_SKIP();
  bool previous = allow_tf32();
  set_allow_tf32(true);
  Tensor x = random_tensor(Shape{2, 64, 32, 32}, 83), w = random_tensor(Shape{64, 64, 3, 3}, 84);
  Tensor gpu = kernels::conv2d(raw::to_device(x, Device::cuda()), raw::to_device(w, Device::cuda()), Tensor(), Conv2dParams{1, 1, 1, 1, 1, 1, 1});
  set_allow_tf32(previous);
  // 576 products of |x|,|w| <= 1, each rounded to a 10-bit mantissa: error well below 576 * 2^-10.
  CHECK_CLOSE(raw::to_device(gpu, Device::cpu()), kernels::conv2d(x, w, Tensor(), Conv2dParams{1, 1, 1, 1, 1, 1, 1}), 0.1, 0.01);
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

TEST_CASE("parity harness: every parity case runs CPU against CPU") {
  CHECK(registry().size() >= 35);
  for (const ParityCase& c : registry()) check_parity(c, Device::cpu());
}

}  // TEST_SUITE
