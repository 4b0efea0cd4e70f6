// P_test as the refined-masking authors' released code computes it (perturbation_params.quantize:
// code, kernels::perturb_test_code): bit for bit against OpenCV 4.6 (tests/golden/ptest.safetensors,
// written by tests/golden/make_ptest_goldens.py), the config option and its errors, the shipped
// code and 512x512 configs, the model's use of it, and CUDA-vs-CPU parity.
#include <cmath>
#include <filesystem>
#include <string>

#include "autograd/grad_mode.h"
#include "kernels/augment.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "kernels/shape_ops.h"
#include "models/refined_mask/model.h"
#include "tests/parity.h"
#include "tests/test_util.h"
#include "tests/tiny_refined_mask_config.h"

using namespace anima;
using namespace anima::refined_mask;
using test::random_tensor;

namespace {

float max_abs_diff(const Tensor& a, const Tensor& b) {
  std::vector<float> x = a.to_vector<float>(), y = b.to_vector<float>();
  float worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(x[i] - y[i]));
  return worst;
}

std::string with(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

std::string error_of(const std::string& yaml) {
  try {
    parse_refined_mask_config(yaml, "bad.yaml");
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

// The tiny config with the code's face threshold and P_test.
std::string tiny_code() {
  return with(test::kTinyRefinedMaskYaml, "perturbation_params: {threshold: median",
              "perturbation_params: {threshold: 0.39215686274509803, quantize: code");
}

}  // namespace

TEST_SUITE("models") {

TEST_CASE("P_test quantize: code matches OpenCV's warpAffine bit for bit (golden)") {
  const SafetensorsFile& g = test::golden("ptest.safetensors");
  struct Case {
    const char *mask, *out;
    int threshold;
    double scale;
  };
  const Case cases[] = {{"m64", "m64.th100.s0.75", 100, 0.75},
                        {"m64", "m64.th60.s0.75", 60, 0.75},
                        {"m58", "m58.th100.s0.75", 100, 0.75},
                        {"m37x53", "m37x53.th60.s0.75", 60, 0.75},
                        {"m37x53", "m37x53.th100.s0.6", 100, 0.6}};
  for (const Case& c : cases) {
    INFO(c.out);
    const Tensor& m = g.at(c.mask);
    const Tensor& want = g.at(c.out);
    Tensor got = kernels::perturb_test_code(m, c.threshold, c.scale);
    CHECK(got.shape() == want.shape());
    CHECK(max_abs_diff(got, want) == 0.f);
    CHECK(test::bit_equal(got, want));
    int off_grid = 0;  // every value is some uint8 k as float(k) / 255
    for (float v : got.to_vector<float>()) off_grid += float(std::lround(v * 255.f)) / 255.f != v;
    CHECK(off_grid == 0);
    // Per sample: a batch of the mask and a zero mask gives the golden and zeros.
    Tensor batch = kernels::concat({m, kernels::full(m.shape(), 0.0)}, 0);
    Tensor two = kernels::perturb_test_code(batch, c.threshold, c.scale);
    CHECK(test::bit_equal(kernels::slice(two, 0, 0, 1), want));
    CHECK(kernels::sum(kernels::slice(two, 0, 1, 2)).item() == 0.f);
  }
  // The code's threshold test is <=: a constant mask exactly at 100/255 (m * 255 == 100 in float32) vanishes, one
  // float32 above it keeps 100/255 in the middle (100 * 32767 + 100 * 1 of the integer-position weights).
  float at = 100.f / 255.f;
  while (at * 255.f > 100.f) at = std::nextafter(at, 0.f);
  while (at * 255.f < 100.f) at = std::nextafter(at, 1.f);
  Tensor flat = kernels::full(Shape{1, 1, 16, 16}, double(at));
  CHECK(kernels::sum(kernels::perturb_test_code(flat, 100, 0.75)).item() == 0.f);
  Tensor above = kernels::full(Shape{1, 1, 16, 16}, double(std::nextafter(at, 1.f)));
  CHECK(kernels::perturb_test_code(above, 100, 1.0).to_vector<float>()[8 * 16 + 8] == 100.f / 255.f);
  CHECK_THROWS_WITH_AS(kernels::perturb_test_code(flat, 256, 0.75), doctest::Contains("0..255"), Error);
  CHECK_THROWS_WITH_AS(kernels::perturb_test_code(flat, 100, 0.0), doctest::Contains("scale"), Error);
  CHECK_THROWS_WITH_AS(kernels::perturb_test_code(kernels::full(Shape{1, 2, 4, 4}, 0.5), 100, 0.75),
                       doctest::Contains("[N, 1, H, W]"), Error);
}

TEST_CASE("perturbation_params.quantize: float (default) or code; errors name the key") {
  RefinedMaskConfig plain = parse_refined_mask_config(test::kTinyRefinedMaskYaml, "tiny");
  CHECK(plain.perturbation.quantize == PTestQuantize::Float);
  const std::string kTinyCode = tiny_code();
  RefinedMaskConfig code = parse_refined_mask_config(kTinyCode, "code");
  CHECK(code.warnings.empty());
  CHECK(code.perturbation.quantize == PTestQuantize::Code);
  CHECK(code.perturbation.threshold_255() == 100);
  RefinedMaskConfig sixty =
      parse_refined_mask_config(with(kTinyCode, "0.39215686274509803", "0.23529411764705882"), "60");
  CHECK(sixty.perturbation.threshold_255() == 60);
  RefinedMaskConfig flt = parse_refined_mask_config(with(kTinyCode, "quantize: code", "quantize: float"), "float");
  CHECK(flt.perturbation.quantize == PTestQuantize::Float);
  std::string bad = error_of(with(kTinyCode, "quantize: code", "quantize: int8"));
  CHECK_MESSAGE(bad.find("'perturbation_params.quantize' must be one of float, code; got 'int8'") != std::string::npos,
                bad);
  std::string median = error_of(with(kTinyCode, "threshold: 0.39215686274509803", "threshold: median"));
  CHECK_MESSAGE(median.find("bad.yaml: perturbation_params.quantize: code") != std::string::npos, median);
  CHECK_MESSAGE(median.find("not median") != std::string::npos, median);
  // A threshold between two 0..255 steps is rounded, with a warning.
  RefinedMaskConfig odd = parse_refined_mask_config(with(kTinyCode, "0.39215686274509803", "0.3"), "odd");
  CHECK(odd.perturbation.threshold_255() == 77);
  REQUIRE(odd.warnings.size() == 1);
  CHECK(odd.warnings[0].find("nearest integer") != std::string::npos);
}

TEST_CASE("the code and 512x512 refined-mask configs load with the released code's values") {
  for (const char* name : {"vox", "taichi", "bair"}) {
    INFO(name);
    RefinedMaskConfig c =
        load_refined_mask_config(test::source_path(std::string("configs/refined-mask-") + name + "-256-code.yaml"));
    CHECK(c.warnings.empty());
    bool faces = std::string(name) == "vox";
    CHECK(c.model.encoder_block == EncoderBlock::Code);
    CHECK(c.model.mask_pad == 0);
    CHECK(c.model.mask_generator.temperature == 0.1f);
    CHECK(c.model.refinement.temperature == 0.1f);
    CHECK_FALSE(c.perturbation.threshold.median);
    CHECK(c.perturbation.threshold_255() == (faces ? 100 : 60));
    CHECK(c.perturbation.threshold.value == (faces ? 100.0 / 255 : 60.0 / 255));
    CHECK(c.perturbation.quantize == PTestQuantize::Code);
    CHECK(c.perturbation.test_scale == 0.75);
    CHECK(c.train.betas == std::vector<double>{0.5, 0.999});
    CHECK(c.train.scales == std::vector<double>{1, 0.5, 0.25, 0.125});
    CHECK(c.train.loss_weights.perceptual_layers.size() == (faces ? 3u : 5u));
    CHECK(c.train.loss_weights.perceptual_layers[1] == "relu2_1");
    CHECK(c.mask_h() == 64);
  }
  for (const char* name : {"vox", "taichi"}) {
    INFO(name);
    RefinedMaskConfig c =
        load_refined_mask_config(test::source_path(std::string("configs/refined-mask-") + name + "-512.yaml"));
    CHECK(c.warnings.empty());
    CHECK(c.frame_h() == 512);
    CHECK(c.frame_w() == 512);
    CHECK(c.mask_h() == 128);
    CHECK(c.perturbation.threshold.median);
    CHECK(c.train.betas == std::vector<double>{0.5, 0.9});
  }
  // Every refined-mask config shipped in configs/ loads without a warning.
  int seen = 0;
  for (const auto& e : std::filesystem::directory_iterator(test::source_path("configs"))) {
    std::string file = e.path().filename().string();
    if (file.rfind("refined-mask-", 0) != 0 || e.path().extension() != ".yaml") continue;
    INFO(file);
    CHECK(load_refined_mask_config(e.path().string()).warnings.empty());
    ++seen;
  }
  CHECK(seen >= 9);
}

TEST_CASE("refined-mask animate with quantize: code uses the code's P_test") {
  RefinedMaskConfig c = parse_refined_mask_config(tiny_code(), "code");
  Generator gen(3);
  RefinedMaskModel model(c, gen);
  model.train(false);
  NoGradGuard no_grad;
  auto [s, d] = test::puppet_batch(11, 48, 6);
  Animation a = model.animate(s, d, Ablation::Full);
  Tensor md = model.mask_generator->forward(d);
  CHECK(test::bit_equal(a.perturbed_mask, kernels::perturb_test_code(md, 100, 0.75)));
  CHECK_FALSE(test::bit_equal(a.perturbed_mask, kernels::perturb_test(md, model.threshold(md))));
  CHECK(test::bit_equal(model.animate(s, d, Ablation::NoPert).perturbed_mask, md));
}

}  // TEST_SUITE

// The GPU runs the same body: equal to the bit (integer arithmetic after exactly rounded doubles).
PARITY("perturb_test_code", 0, 0, ({random_tensor(Shape{3, 1, 64, 64}, 120, 0, 1)}),
       kernels::perturb_test_code(x[0].detach(), 100, 0.75))

PARITY("perturb_test_code_odd_size", 0, 0, ({random_tensor(Shape{2, 1, 37, 53}, 121, 0, 1)}),
       kernels::perturb_test_code(x[0].detach(), 60, 0.6))
