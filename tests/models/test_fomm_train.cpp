// A few FOMM training steps on the CPU with the synthetic puppets: every loss term is finite and
// logged separately, the reconstruction improves, and the same seed repeats exactly.
#include <cmath>

#include "data/image_io.h"
#include "data/synthetic.h"
#include "kernels/shape_ops.h"
#include "models/fomm/full_model.h"
#include "models/prioritycut/discriminator_step.h"
#include "tests/test_util.h"
#include "tests/tiny_fomm_config.h"

using namespace anima;
using namespace anima::fomm;

namespace {

FommConfig tiny_config() { return parse_fomm_config(test::kTinyFommYaml, "tiny"); }

// Source and driving frames of two synthetic puppet videos at 32x32.
std::pair<Tensor, Tensor> puppet_batch() { return test::puppet_batch(7, 32, 5); }

std::vector<std::map<std::string, float>> run(int steps) {
  Generator gen(21);
  auto vgg = std::make_shared<Vgg19>(gen);
  FommTrainer trainer(tiny_config(), vgg, gen);
  auto [source, driving] = puppet_batch();
  std::vector<std::map<std::string, float>> log;
  for (int s = 0; s < steps; ++s) {
    StepOutput o = trainer.step(source, driving);
    std::map<std::string, float> row;
    for (auto& [name, v] : o.losses) row[name] = v.item();
    row["disc_gan"] = o.discriminator_loss.item();
    log.push_back(row);
  }
  return log;
}

}  // namespace

TEST_SUITE("models") {

TEST_CASE("FOMM training steps on the CPU: finite terms, falling reconstruction loss, reproducible") {
  auto log = run(12);
  for (const char* term :
       {"perceptual", "gen_gan", "feature_matching", "equivariance_value", "equivariance_jacobian", "disc_gan"}) {
    INFO(term);
    REQUIRE(log[0].count(term) == 1);
    for (auto& row : log) CHECK(std::isfinite(row[term]));
  }
  INFO("perceptual " << log.front()["perceptual"] << " -> " << log.back()["perceptual"]);
  CHECK(log.back()["perceptual"] < 0.9f * log.front()["perceptual"]);
  auto again = run(3);
  for (int s = 0; s < 3; ++s) CHECK(again[size_t(s)] == log[size_t(s)]);
}

// The official train.py steps the discriminator, and GeneratorFullModel adds gen_gan and feature
// matching, only when generator_gan != 0: the plain FOMM row trains without a discriminator.
TEST_CASE("generator_gan 0 (the FOMM configs): no GAN terms, no feature matching, the discriminator untouched") {
  for (const char* disc : {"global", "unet"}) {
    INFO(disc);
    std::string yaml = std::string(test::kTinyFommYaml) + "prioritycut_params:\n  discriminator: " + disc + "\n";
    prioritycut::PriorityCutConfig pc = prioritycut::parse_prioritycut_config(yaml, "tiny-no-gan");
    FommConfig& c = pc.fomm;
    c.discriminator.num_blocks = 2;
    c.train.loss_weights.generator_gan = 0;
    REQUIRE(c.train.loss_weights.discriminator_gan != 0);
    REQUIRE(c.train.loss_weights.feature_matching.at(0) != 0);
    Generator gen(5);
    std::unique_ptr<FommTrainer> tp = prioritycut::make_trainer(pc, std::make_shared<Vgg19>(gen), gen);
    FommTrainer& t = *tp;
    Module* d = t.checkpoint_parts().modules[2].second;
    CHECK(d->type_name() == (std::string(disc) == "unet" ? "UNetDiscriminator" : "MultiScaleDiscriminator"));
    Tensor before = raw::to_device(d->named_parameters().front().second, Device::cpu());
    auto [source, driving] = puppet_batch();
    StepOutput o = t.step(source, driving);
    CHECK(o.losses.count("gen_gan") == 0);
    CHECK(o.losses.count("feature_matching") == 0);
    CHECK(o.losses.count("perceptual") == 1);
    CHECK_FALSE(o.discriminator_loss.defined());
    CHECK(test::bit_equal(d->named_parameters().front().second, before));
  }
}

TEST_CASE("a training step with keypoint heatmaps fed to the discriminator (the -adv configs)") {
  FommConfig c = tiny_config();
  c.discriminator.use_kp = true;
  Generator gen(3);
  FommTrainer t(c, std::make_shared<Vgg19>(gen), gen);
  auto [source, driving] = puppet_batch();
  StepOutput o = t.step(source, driving);
  CHECK(std::isfinite(o.losses.at("gen_gan").item()));
  CHECK(std::isfinite(o.discriminator_loss.item()));
}

TEST_CASE("PriorityCut training steps: the U-Net discriminator with PriorityCut and CutMix mixing") {
  for (const char* mix : {"prioritycut", "cutmix"}) {
    INFO(mix);
    std::string yaml = std::string(test::kTinyFommYaml) + "prioritycut_params:\n  discriminator: unet\n  mix: " + mix +
                       "\n  mix_probability: 1.0\n  warmup_epochs: 1\n  k_min: 0.1\n  k_max: 0.5\n";
    prioritycut::PriorityCutConfig pc = prioritycut::parse_prioritycut_config(yaml, "tiny-pc");
    pc.fomm.discriminator.num_blocks = 2;  // 32x32 must divide by 2^blocks
    pc.fomm.train.loss_weights.feature_matching = {10, 10};
    Generator gen(4);
    std::unique_ptr<FommTrainer> tp = prioritycut::make_trainer(pc, std::make_shared<Vgg19>(gen), gen);
    FommTrainer& t = *tp;
    CHECK(dynamic_cast<prioritycut::UNetDiscriminatorStep*>(&t.discriminator()) != nullptr);
    auto [source, driving] = puppet_batch();
    t.set_epoch(0);  // warm-up: no mixing yet
    StepOutput first = t.step(source, driving);
    CHECK(first.losses.count("consistency") == 0);
    t.set_epoch(1);
    StepOutput o = t.step(source, driving);
    REQUIRE(o.losses.count("consistency") == 1);
    CHECK(std::isfinite(o.losses.at("consistency").item()));
    CHECK(std::isfinite(o.losses.at("disc_mix").item()));
    CHECK(std::isfinite(o.discriminator_loss.item()));
    CHECK(t.last_mix_mask().shape() == Shape{2, 1, 32, 32});
    auto parts = t.checkpoint_parts();
    CHECK(parts.modules[2].first == "discriminator");
    CHECK(parts.modules[2].second->named_parameters().front().first == "encoder.down_blocks.0.conv.bias");
  }
  CHECK_THROWS_WITH_AS(prioritycut::parse_prioritycut_config("prioritycut_params: {mix: prioritycut}\n", "x"),
                       doctest::Contains("needs the unet discriminator"), Error);
  CHECK_THROWS_WITH_AS(
      prioritycut::parse_prioritycut_config("prioritycut_params: {discriminator: unet, mix: cutmix}\n", "x"),
      doctest::Contains("runs only when train_params.loss_weights.generator_gan is non-zero"), Error);
  CHECK_THROWS_WITH_AS(prioritycut::parse_prioritycut_config("prioritycut_params: {discriminator: patch}\n", "x"),
                       doctest::Contains("'prioritycut_params.discriminator' must be one of global, unet; got 'patch'"),
                       Error);
  CHECK_THROWS_WITH_AS(
      prioritycut::parse_prioritycut_config("prioritycut_params: {discriminator: unet, mix: mixup}\n", "x"),
      doctest::Contains("'prioritycut_params.mix' must be one of none, prioritycut, cutmix; got 'mixup'"), Error);
}

}  // TEST_SUITE
