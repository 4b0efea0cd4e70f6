// The refined-masking model: configs, the architecture (shapes and parameter counts from the
// appendix's formulas), the test-time pipeline and its ablations, a few CPU training steps, the
// gradient routing of equations 8-10, reproducibility and bit-exact checkpoints.
#include <unistd.h>
#include <cmath>
#include <cstdlib>
#include <tuple>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/image_io.h"
#include "data/synthetic.h"
#include "kernels/augment.h"
#include "kernels/random.h"
#include "kernels/shape_ops.h"
#include "models/refined_mask/model.h"
#include "models/registry.h"
#include "tests/test_util.h"
#include "tests/tiny_refined_mask_config.h"

using namespace anima;
using namespace anima::refined_mask;

namespace {

RefinedMaskConfig tiny() { return parse_refined_mask_config(test::kTinyRefinedMaskYaml, "tiny"); }

// Source and driving frames of two synthetic puppet videos at 48x48.
std::pair<Tensor, Tensor> puppet_batch() { return test::puppet_batch(11, 48, 6); }

// Parameter counts from the architecture, written independently of the modules.
int64_t conv(int64_t in, int64_t out, int64_t k) { return in * out * k * k + out; }
int64_t bn(int64_t c) { return 2 * c; }
int64_t encoder_decoder(const HourglassParams& p, int64_t in, bool skips) {
  auto width = [&](int i) { return std::min(p.max_features, p.block_expansion << i); };
  int64_t n = 0;
  for (int i = 0; i < p.num_blocks; ++i) n += conv(i == 0 ? in : width(i), width(i + 1), 3) + bn(width(i + 1));
  for (int i = p.num_blocks - 1; i >= 0; --i) {
    int64_t up_in = (i == p.num_blocks - 1 || !skips ? 1 : 2) * width(i + 1);
    n += conv(up_in, width(i), 3) + bn(width(i));
  }
  return n;
}
int64_t expected_m(const ModelParams& p) {
  return encoder_decoder(p.mask_generator, 3, false) + conv(p.mask_generator.block_expansion, 1, 7);
}
int64_t expected_r(const ModelParams& p) {
  return encoder_decoder(p.refinement, 5, false) + conv(p.refinement.block_expansion, 1, 7);
}
int64_t expected_h(const ModelParams& p) {
  return encoder_decoder(p.high_res, 8, true) + conv(p.high_res.block_expansion + 8, 3, 7);
}
int64_t expected_l(const ModelParams& p) {
  const auto& l = p.low_res;
  auto width = [&](int i) { return std::min(l.max_features, l.block_expansion << i); };
  int64_t f = width(l.num_up_blocks);
  int64_t n = conv(5, f, 7) + bn(f) + l.num_bottleneck_blocks * (2 * conv(f, f, 3) + 2 * bn(f));
  for (int i = 0; i < l.num_up_blocks; ++i)
    n += conv(width(l.num_up_blocks - i), width(l.num_up_blocks - i - 1), 3) + bn(width(l.num_up_blocks - i - 1));
  return n + conv(l.block_expansion, 3, 7);
}
int64_t count(const Module& m, char net) {
  int64_t n = 0;
  for (const auto& [name, t] : m.named_parameters())
    for (const auto& p : RefinedMaskGenerator::prefixes(net))
      if (name.rfind(p, 0) == 0) n += t.numel();
  return n;
}

std::map<std::string, Tensor> snapshot(RefinedMaskModel& model) {
  std::map<std::string, Tensor> s;
  for (const auto& [name, t] : model.mask_generator->named_parameters()) s["m." + name] = anima::clone(t.detach());
  for (const auto& [name, t] : model.generator->named_parameters()) s["g." + name] = anima::clone(t.detach());
  return s;
}

// Which networks (m, l, r, h) have a parameter that differs from the snapshot.
std::set<char> changed(RefinedMaskModel& model, const std::map<std::string, Tensor>& before) {
  std::set<char> out;
  for (const auto& [name, t] : model.mask_generator->named_parameters())
    if (!test::bit_equal(t, before.at("m." + name))) out.insert('m');
  for (const auto& [name, t] : model.generator->named_parameters()) {
    if (test::bit_equal(t, before.at("g." + name))) continue;
    for (char net : {'l', 'r', 'h'})
      for (const auto& p : RefinedMaskGenerator::prefixes(net))
        if (name.rfind(p, 0) == 0) out.insert(net);
  }
  return out;
}

}  // namespace

TEST_SUITE("models") {

TEST_CASE("refined-mask configs: the paper's values, no unknown keys, clear errors") {
  for (const char* name : {"vox", "taichi", "bair"}) {
    INFO(name);
    RefinedMaskConfig c =
        load_refined_mask_config(test::source_path(std::string("configs/refined-mask-") + name + "-256.yaml"));
    CHECK(c.warnings.empty());
    CHECK(c.mask_h() == 64);
    CHECK(c.train.loss_weights.mask == 100.f);
    CHECK(c.train.loss_weights.reconstruction == 10.f);
    CHECK(c.train.lr == doctest::Approx(2e-4));
    CHECK(c.train.betas == std::vector<double>{0.5, 0.9});
    CHECK(c.train.batch_size == 16);
    CHECK(c.train.epoch_milestones == std::vector<int>{60, 90});
    CHECK(c.train.num_epochs == 100);
    CHECK(c.train.refinement_start_epoch == 1);
    CHECK(c.perturbation.threshold.median);
    CHECK(c.perturbation.poisson_lambda == 20.0);
    CHECK(c.perturbation.scale_jitter == 0.25);
    CHECK(c.perturbation.test_scale == 0.75);
    CHECK(!c.model.mask_generator.skip_connections);
    CHECK(!c.model.refinement.skip_connections);
  }
  RefinedMaskConfig small = load_refined_mask_config(test::source_path("configs/refined-mask-shapes-64.yaml"));
  CHECK(small.warnings.empty());
  CHECK(std::string(config_model(test::kTinyRefinedMaskYaml, "tiny").name) == "refined_mask");
  CHECK(std::string(config_model("dataset_params: {}\n", "fomm").name) == "fomm");
  std::string base = test::kTinyRefinedMaskYaml;
  auto fails_with = [&](const std::string& yaml, const std::string& text) {
    try {
      parse_refined_mask_config(yaml, "bad.yaml");
    } catch (const std::exception& e) {
      INFO(std::string(e.what()));
      CHECK(std::string(e.what()).find(text) != std::string::npos);
      return;
    }
    FAIL("no error for " << text);
  };
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = base;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  fails_with(with("threshold: median", "threshold: high"), "threshold");
  fails_with(with("encoder_block: paper", "encoder_block: resnet"),
             "'model_params.common_params.encoder_block' must be one of paper, code; got 'resnet'");
  fails_with(with("threshold: median", "threshold: 1.5"), "outside [0, 1]");
  // Issue 19, item 1: a tiny scale overflowed the anti-alias kernel (a heap overflow); item 2: an
  // infinite learning rate trained on and saved NaN weights.
  fails_with(with("scales: [1, 0.5]", "scales: [1, 1.0e-6]"), "train_params.scales must be in [1/256, 1]");
  fails_with(with("scales: [1, 0.5]", "scales: []"), "at least one perceptual layer and one scale");
  fails_with(with("lr: 2.0e-3", "lr: .inf"), "train_params.lr must be finite and positive");
  RefinedMaskConfig fixed = parse_refined_mask_config(with("threshold: median", "threshold: 0.392"), "fixed");
  CHECK_FALSE(fixed.perturbation.threshold.median);
  CHECK(fixed.perturbation.threshold.value == 0.392);
  fails_with(with("poisson_lambda: 20}", "poisson_lambda: 20, scale_jitter: 1.0}"), "scale_jitter must be in [0, 1)");
  fails_with(with("poisson_lambda: 20}", "poisson_lambda: 20, test_scale: 0}"), "test_scale must be positive");
  RefinedMaskConfig weak = parse_refined_mask_config(
      with("poisson_lambda: 20}", "poisson_lambda: 20, scale_jitter: 0.05, test_scale: 1.0}"), "weak");
  CHECK(weak.warnings.empty());
  CHECK(weak.perturbation.scale_jitter == 0.05);
  CHECK(weak.perturbation.test_scale == 1.0);
  std::string s = base;
  s.replace(s.find("mask_scale: 0.25"), 16, "mask_scale: 0.5");
  fails_with(s, "num_up_blocks");
  s = base;
  s.replace(s.find("perceptual: [1, 1]"), 18, "perceptual: [1]");
  fails_with(s, "perceptual_layers");
  fails_with(
      "model: refined_mask\nmodel_params: {high_res_params: {num_blocks: 5}}\n"
      "dataset_params: {frame_shape: [48, 48, 3]}\n",
      "num_blocks 5 needs an input divisible by 32");
  fails_with("dataset_params: {}\n", "model: refined_mask");
  RefinedMaskConfig typo = parse_refined_mask_config(base + "train_params_typo: 1\n", "typo");
  REQUIRE(typo.warnings.size() == 1);
  CHECK(typo.warnings[0].find("train_params_typo") != std::string::npos);
}

TEST_CASE("refined-mask networks at 256x256: shapes, names and parameter counts of appendix A") {
  RefinedMaskConfig c = load_refined_mask_config(test::source_path("configs/refined-mask-vox-256.yaml"));
  Generator gen(1);
  RefinedMaskModel model(c, gen);
  CHECK(model.mask_generator->parameter_count() == expected_m(c.model));
  CHECK(count(*model.generator, 'l') == expected_l(c.model));
  CHECK(count(*model.generator, 'r') == expected_r(c.model));
  CHECK(count(*model.generator, 'h') == expected_h(c.model));
  CHECK(model.generator->parameter_count() == expected_l(c.model) + expected_r(c.model) + expected_h(c.model));
  MESSAGE("refined-mask-vox-256 parameters: m "
          << model.mask_generator->parameter_count() << ", l " << count(*model.generator, 'l') << ", r "
          << count(*model.generator, 'r') << ", h " << count(*model.generator, 'h'));
  // The released code's module names.
  auto names = model.generator->named_parameters();
  auto has = [&](const std::string& n) {
    for (auto& [k, v] : names)
      if (k == n) return true;
    return false;
  };
  CHECK(has("first.conv.weight"));
  CHECK(has("bottleneck.r5.conv2.weight"));
  CHECK(has("up_blocks.1.norm.bias"));
  CHECK(has("final.weight"));
  CHECK(has("hourglass.decoder.up_blocks.4.conv.weight"));
  CHECK(has("mask_fix_net.encoder.down_blocks.0.conv.weight"));
  CHECK(has("ref.weight"));
  CHECK(has("final_hourglass.bias"));
  CHECK(model.mask_generator->state_dict().back().first == "down.weight");
  // The taichi and bair models are the same architecture.
  for (const char* other : {"taichi", "bair"}) {
    RefinedMaskConfig o =
        load_refined_mask_config(test::source_path(std::string("configs/refined-mask-") + other + "-256.yaml"));
    CHECK(expected_m(o.model) + expected_l(o.model) + expected_r(o.model) + expected_h(o.model) ==
          expected_m(c.model) + expected_l(c.model) + expected_r(c.model) + expected_h(c.model));
  }
  NoGradGuard no_grad;
  model.train(false);
  Tensor s = kernels::uniform(Shape{1, 3, 256, 256}, 0.f, 1.f, gen),
         d = kernels::uniform(Shape{1, 3, 256, 256}, 0.f, 1.f, gen);
  Animation a = model.animate(s, d);
  CHECK(a.source_mask.shape() == Shape{1, 1, 64, 64});
  CHECK(a.driving_mask_raw.shape() == Shape{1, 1, 64, 64});
  CHECK(a.perturbed_mask.shape() == Shape{1, 1, 64, 64});
  CHECK(a.driving_mask.shape() == Shape{1, 1, 64, 64});
  CHECK(a.coarse.shape() == Shape{1, 3, 256, 256});
  CHECK(a.prediction.shape() == Shape{1, 3, 256, 256});
  CHECK(anima::amin(a.prediction).item() >= 0.f);
  CHECK(anima::amax(a.prediction).item() <= 1.f);
}

TEST_CASE("refined-mask code options: 58x58 masks zero-padded back, temperature, code block order") {
  RefinedMaskConfig c = tiny();
  c.model.mask_pad = 0;
  c.model.mask_generator.temperature = 0.1f;
  c.model.encoder_block = EncoderBlock::Code;
  Generator gen(2);
  MaskGenerator m(c.model, gen);
  Tensor x = kernels::uniform(Shape{2, 3, 48, 48}, 0.f, 1.f, gen);
  Tensor mask = m.forward(x);
  REQUIRE(mask.shape() == Shape{2, 1, 12, 12});
  // The temperature divides the logits: the same weights at temperature 1 give logit / 10.
  c.model.mask_generator.temperature = 1.0f;
  Generator same(2);
  MaskGenerator m1(c.model, same);
  std::vector<float> hot = mask.to_vector<float>(), cold = m1.forward(x).to_vector<float>();
  int checked = 0;
  for (size_t i = 0; i < hot.size(); ++i) {
    double lc = std::log(cold[i] / (1 - cold[i]));
    if (cold[i] == 0.f || std::fabs(lc) > 0.8) continue;  // the zero border; saturated at T = 0.1
    CHECK(std::log(hot[i] / (1 - hot[i])) == doctest::Approx(10 * lc).epsilon(1e-3).scale(1));
    ++checked;
  }
  CHECK(checked > 10);
  // The block order matters: the paper's conv-ReLU-BN gives other masks than the code's conv-BN-ReLU.
  c.model.encoder_block = EncoderBlock::Paper;
  Generator same2(2);
  CHECK(!test::bit_equal(MaskGenerator(c.model, same2).forward(x), m1.forward(x)));
  // A 7x7 conv without padding on 12x12 gives 6x6; the 3-pixel border is zero.
  std::vector<float> v = mask.to_vector<float>();
  for (int64_t y = 0; y < 12; ++y)
    for (int64_t xx = 0; xx < 12; ++xx) {
      bool border = y < 3 || y >= 9 || xx < 3 || xx >= 9;
      if (border)
        CHECK(v[size_t(y * 12 + xx)] == 0.f);
      else
        CHECK(v[size_t(y * 12 + xx)] > 0.f);
    }
}

// A tiny model in eval mode, the full test-time pipeline on a puppet batch, and m(d).
struct TinyAnimation {
  Generator gen{3};
  RefinedMaskModel model;
  Tensor s, d, md;
  Animation full;
  explicit TinyAnimation(const RefinedMaskConfig& c) : model(c, gen) {
    model.train(false);
    NoGradGuard no_grad;
    std::tie(s, d) = puppet_batch();
    full = model.animate(s, d, Ablation::Full);
    md = model.mask_generator->forward(d);
  }
};

TEST_CASE("refined-mask test-time pipeline and the ablations no_pert, no_ref, no_id") {
  TinyAnimation t(tiny());
  auto& [gen, model, s, d, md, full] = t;
  NoGradGuard no_grad;
  CHECK(test::bit_equal(full.driving_mask_raw, md));
  CHECK(test::bit_equal(full.perturbed_mask, kernels::perturb_test(md, model.threshold(md))));
  CHECK(test::bit_equal(full.driving_mask,
                        model.generator->refine(model.downscale(s), full.source_mask, full.perturbed_mask)));
  Animation no_pert = model.animate(s, d, Ablation::NoPert);
  CHECK(test::bit_equal(no_pert.perturbed_mask, md));
  CHECK(test::bit_equal(no_pert.driving_mask, model.generator->refine(model.downscale(s), full.source_mask, md)));
  Animation no_ref = model.animate(s, d, Ablation::NoRef);
  CHECK(test::bit_equal(no_ref.driving_mask, full.perturbed_mask));
  Animation no_id = model.animate(s, d, Ablation::NoId);
  CHECK(test::bit_equal(no_id.driving_mask, md));
  CHECK(!test::bit_equal(no_id.prediction, full.prediction));
  // The median threshold: half the pixels (rounded down) of each mask are below it.
  Tensor thr = model.threshold(md);
  REQUIRE(thr.shape() == Shape{2});
  std::vector<float> mv = md.to_vector<float>(), tv = thr.to_vector<float>();
  for (int64_t n = 0; n < 2; ++n) {
    int64_t below = 0, at_or_below = 0, k = 144;
    for (int64_t i = 0; i < k; ++i) {
      float v = mv[size_t(n * k + i)];
      below += v < tv[size_t(n)];
      at_or_below += v <= tv[size_t(n)];
    }
    CHECK(below <= (k - 1) / 2);  // the lower median, as torch.median
    CHECK(at_or_below >= (k - 1) / 2 + 1);
  }
  CHECK(parse_ablation("no_ref") == Ablation::NoRef);
  CHECK_THROWS_WITH_AS(parse_ablation("none"), doctest::Contains("no_pert"), std::exception);
}

TEST_CASE("refined-mask perturbation options: P_test's scale in the pipeline, skip connections in r and m") {
  RefinedMaskConfig c = tiny();
  c.perturbation.test_scale = 0.9;
  c.model.refinement.skip_connections = true;
  TinyAnimation t(c);
  auto& [gen, model, s, d, md, full] = t;
  NoGradGuard no_grad;
  CHECK(test::bit_equal(full.perturbed_mask, kernels::perturb_test(md, model.threshold(md), 0.9)));
  CHECK(full.driving_mask.shape() == md.shape());
  // The U-Net r's decoder ends with its input concatenated: ref reads block_expansion + 5 channels.
  CHECK(model.generator->ref->weight.size(1) == c.model.refinement.block_expansion + 5);
  RefinedMaskConfig plain = tiny();
  Generator gen2(3);
  RefinedMaskModel without(plain, gen2);
  CHECK(without.generator->ref->weight.size(1) == plain.model.refinement.block_expansion);
  // Skip connections in m as well: same mask shape.
  plain.model.mask_generator.skip_connections = true;
  Generator gen3(3);
  MaskGenerator m(plain.model, gen3);
  m.train(false);
  CHECK(m.forward(s).shape() == md.shape());
}

TEST_CASE("refined-mask gradient routing: L_mask updates only r, the fine term only h, the coarse term l and m") {
  auto [s, d] = puppet_batch();
  struct Case {
    std::vector<std::string> terms;
    std::set<char> nets;
  };
  for (const Case& k : {Case{{"mask"}, {'r'}}, Case{{"fine"}, {'h'}}, Case{{"coarse"}, {'l', 'm'}},
                        Case{{"mask", "coarse", "fine"}, {'m', 'l', 'r', 'h'}}}) {
    std::string label;
    for (auto& t : k.terms) label += t + " ";
    INFO(label);
    Generator gen(4);
    RefinedMaskTrainer t(tiny(), std::make_shared<Vgg19>(gen), gen);
    t.set_epoch(0);
    t.set_active_terms(k.terms);
    auto before = snapshot(t.model);
    TrainStep o = t.step(s, d);
    CHECK(o.losses.size() == k.terms.size());
    CHECK(changed(t.model, before) == k.nets);
  }
  // Before refinement_start_epoch, r does not train.
  RefinedMaskConfig c = tiny();
  c.train.refinement_start_epoch = 1;
  Generator gen(5);
  RefinedMaskTrainer late(c, std::make_shared<Vgg19>(gen), gen);
  late.set_epoch(0);
  auto before = snapshot(late.model);
  TrainStep o = late.step(s, d);
  CHECK(o.losses.count("mask") == 0);
  CHECK(changed(late.model, before) == std::set<char>{'m', 'l', 'h'});
  CHECK(late.optimizers["optimizer_refinement"].steps() == 0);  // r's bias corrections start when r starts
  CHECK(late.optimizers["optimizer_generator"].steps() == 1);
  late.set_epoch(1);
  TrainStep o1 = late.step(s, d);
  CHECK(o1.losses.count("mask") == 1);
  CHECK(late.optimizers["optimizer_refinement"].steps() == 1);
  // P_train changed the mask r starts from; A changed only m's input (the target stays d).
  CHECK(!test::bit_equal(o1.perturbed_mask, o1.driving_mask.detach()));
}

TEST_CASE("refined-mask training on the CPU lowers every loss term; the same seed repeats exactly") {
  auto [s, d] = puppet_batch();
  auto run = [&](int steps) {
    Generator gen(6);
    RefinedMaskTrainer t(tiny(), std::make_shared<Vgg19>(gen), gen);
    t.set_epoch(0);
    std::vector<std::map<std::string, float>> log;
    for (int i = 0; i < steps; ++i) {
      std::map<std::string, float> row;
      for (auto& [name, v] : t.step(s, d).losses) row[name] = v.item();
      log.push_back(row);
    }
    return log;
  };
  auto log = run(10);
  for (const char* term : {"mask", "coarse", "fine"}) {
    INFO(term << " " << log.front()[term] << " -> " << log.back()[term]);
    for (auto& row : log) CHECK(std::isfinite(row.at(term)));
    CHECK(log.back()[term] < 0.9f * log.front()[term]);
  }
  auto again = run(3);
  for (int i = 0; i < 3; ++i) CHECK(again[size_t(i)] == log[size_t(i)]);
}

TEST_CASE("refined-mask checkpoint round trip is bit-exact (models, optimisers, the animation)") {
  auto [s, d] = puppet_batch();
  std::string path = "/tmp/anima_test_refined_" + std::to_string(::getpid()) + ".safetensors";
  Generator gen(7);
  RefinedMaskTrainer a(tiny(), std::make_shared<Vgg19>(gen), gen);
  a.step(s, d);
  save_checkpoint(path, a.checkpoint_parts(), {{"model", "refined_mask"}});
  Generator gen2(99);
  RefinedMaskTrainer b(tiny(), std::make_shared<Vgg19>(gen2), gen2);
  load_checkpoint(path, b.checkpoint_parts());
  for (auto* pair : {&a, &b}) pair->model.train(false);
  auto sa = a.model.generator->state_dict(), sb = b.model.generator->state_dict();
  REQUIRE(sa.size() == sb.size());
  for (size_t i = 0; i < sa.size(); ++i) CHECK(test::bit_equal(sa[i].second, sb[i].second));
  auto oa = a.optimizers["optimizer_refinement"].state_dict(), ob = b.optimizers["optimizer_refinement"].state_dict();
  REQUIRE(oa.size() == ob.size());
  for (size_t i = 0; i < oa.size(); ++i) CHECK(test::bit_equal(oa[i].second, ob[i].second));
  NoGradGuard no_grad;
  CHECK(test::bit_equal(a.model.animate(s, d).prediction, b.model.animate(s, d).prediction));
  std::remove(path.c_str());
}

}  // TEST_SUITE
