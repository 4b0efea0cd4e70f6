#include "models/fomm/config.h"
#include "models/prioritycut/config.h"
#include "layers/anti_alias.h"
#include "tests/test_util.h"
#include "tests/tiny_fomm_config.h"

using namespace anima;
using namespace anima::fomm;

TEST_SUITE("models") {

TEST_CASE("configs: the official vox-256 values load and build the official networks") {
  FommConfig c = load_fomm_config(test::source_path("configs/vox-256.yaml"));
  CHECK(c.warnings.empty());
  CHECK(c.dataset.id_sampling);
  CHECK(c.dataset.frame_shape == std::vector<int64_t>{256, 256, 3});
  CHECK(c.dataset.hue == doctest::Approx(0.1f));
  CHECK(c.train.batch_size == 40);
  CHECK(c.train.num_repeats == 75);
  CHECK(c.train.epoch_milestones == std::vector<int>{60, 90});
  CHECK(c.train.loss_weights.feature_matching == std::vector<float>{10, 10, 10, 10});
  CHECK(c.train.transform_params.points_tps == 5);
  CHECK(c.normalization.use_relative_jacobian);
  Generator gen(1);
  CHECK(KPDetector(c.kp_detector, gen).parameter_count() == 14215368);
  CHECK(OcclusionAwareGenerator(c.generator, gen).parameter_count() == 45575391);
  CHECK(MultiScaleDiscriminator(c.discriminator, gen).parameter_count() == 2758849);
  prioritycut::PriorityCutConfig pcc =
      prioritycut::load_prioritycut_config(test::source_path("configs/prioritycut-vox-256.yaml"));
  const FommConfig& pc = pcc.fomm;
  CHECK(pc.warnings.empty());
  CHECK(pcc.params.discriminator == prioritycut::DiscriminatorKind::Unet);
  CHECK(pcc.params.mix == prioritycut::MixKind::PriorityCut);
  CHECK(pc.train.loss_weights.generator_gan == 1.f);
  // FOMM's own reader leaves the section to the variant: no warning, nothing of it read.
  CHECK(load_fomm_config(test::source_path("configs/prioritycut-vox-256.yaml")).warnings.empty());
  for (const char* name : {"taichi-256", "bair-256", "prioritycut-taichi-256", "prioritycut-bair-256", "vox-adv-256",
                           "taichi-adv-256", "fashion-256", "nemo-256"}) {
    INFO(name);
    FommConfig other = load_fomm_config(test::source_path(std::string("configs/") + name + ".yaml"));
    CHECK(other.warnings.empty());
    CHECK(other.dataset.frame_shape[0] == 256);
  }
  // mgif's resize and crop augmentations (data/clip_augment.h).
  FommConfig mgif = load_fomm_config(test::source_path("configs/mgif-256.yaml"));
  CHECK(mgif.warnings.empty());
  CHECK(mgif.dataset.resize_ratio == std::vector<float>{0.9f, 1.1f});
  CHECK(mgif.dataset.crop_size == std::vector<int64_t>{256, 256});
  CHECK(c.dataset.resize_ratio.empty());
  CHECK(c.dataset.crop_size.empty());
  CHECK(
      parse_fomm_config("dataset_params: {augmentation_params: {crop_param: {size: 64}}}\n", "sq").dataset.crop_size ==
      std::vector<int64_t>{64, 64});
  CHECK_THROWS_WITH_AS(
      parse_fomm_config("dataset_params: {augmentation_params: {resize_param: {ratio: [1.1, 0.9]}}}\n", "r"),
      doctest::Contains("resize_param.ratio"), Error);
  CHECK(mgif.kp_detector.single_jacobian_map);
  FommConfig adv = load_fomm_config(test::source_path("configs/taichi-adv-256.yaml"));
  CHECK(adv.discriminator.use_kp);
  CHECK(adv.train.lr_kp_detector == 0.0);
  CHECK(adv.train.epoch_milestones.empty());
  CHECK(parse_fomm_config("dataset_params: {image_shape: [256, 128, 3]}\n", "old").dataset.frame_shape[1] == 128);
  FommConfig small = load_fomm_config(test::source_path("configs/fomm-shapes-64.yaml"));
  CHECK(small.warnings.empty());
  CHECK(small.dataset.frame_shape[0] == 64);
  CHECK(small.kp_detector.num_blocks == 3);
}

TEST_CASE("configs: unknown keys warn, wrong types and bad YAML are errors naming the key") {
  FommConfig c = parse_fomm_config("model_params:\n  generator_params:\n    block_expnsion: 3\n", "t.yaml");
  REQUIRE(c.warnings.size() == 1);
  CHECK(c.warnings[0].find("model_params.generator_params.block_expnsion") != std::string::npos);
  CHECK_THROWS_WITH_AS(parse_fomm_config("train_params:\n  batch_size: many\n", "t.yaml"),
                       doctest::Contains("train_params.batch_size' has the wrong type"), Error);
  CHECK_THROWS_WITH_AS(parse_fomm_config("a: [1, 2\n", "t.yaml"), doctest::Contains("t.yaml: invalid YAML"), Error);
  CHECK_THROWS_WITH_AS(parse_fomm_config("- 1\n", "t.yaml"), doctest::Contains("must be a YAML mapping"), Error);
  CHECK_THROWS_WITH_AS(parse_fomm_config("train_params:\n  batch_size: 0\n", "t.yaml"),
                       doctest::Contains("must be positive"), Error);
}

}  // TEST_SUITE

TEST_CASE("configs: every value is checked, naming the file and the key (issue 19, items 1, 2, 10, 11)") {
  const std::string base = test::kTinyFommYaml;
  auto fails_with = [&](const std::string& yaml, const std::string& text) {
    INFO("expected: " << text);
    CHECK_THROWS_WITH_AS(fomm::parse_fomm_config(yaml, "bad.yaml"), doctest::Contains(("bad.yaml: " + text).c_str()), Error);
  };
  auto replaced = [&](const std::string& from, const std::string& to) {
    size_t at = base.find(from);
    REQUIRE(at != std::string::npos);
    return std::string(base).replace(at, from.size(), to);
  };
  // A scale below about 8.6e-5 overflowed the anti-alias kernel's int size and wrote past the heap
  // buffer (a checkpoint's stored config reaches the same code).
  fails_with(replaced("scale_factor: 0.5, num_blocks: 3}", "scale_factor: 1.0e-6, num_blocks: 3}"),
             "model_params.kp_detector_params.scale_factor must be in [1/256, 1]");
  fails_with(replaced("scales: [1, 0.5]", "scales: []"), "train_params.scales needs at least one scale");
  fails_with(replaced("scales: [1, 0.5]", "scales: [1, 1.0e-5]"), "train_params.scales must be in [1/256, 1]");
  fails_with(replaced("lr_generator: 2.0e-3", "lr_generator: .inf"), "train_params lr_generator, lr_discriminator and lr_kp_detector must be finite and >= 0");
  fails_with(replaced("max_features: 32, scale_factor: 0.5, num_blocks: 3}", "max_features: -9, scale_factor: 0.5, num_blocks: 3}"),
             "model_params.kp_detector_params.max_features must be in 1..");
  // 0 discriminator blocks indexed block -1 ("vector::_M_range_check: __n (which is 18446744073709551615)").
  fails_with(replaced("num_blocks: 3, sn: True", "num_blocks: 0, sn: True"),
             "model_params.discriminator_params.num_blocks must be in 1..12, got 0");
  fails_with(replaced("num_down_blocks: 2", "num_down_blocks: 40"), "model_params.generator_params.num_down_blocks must be in 0..12");
  CHECK_THROWS_WITH_AS(fomm::parse_fomm_config(replaced("batch_size: 2", "batch_size: 2\n  batch_size: 3"), "dup.yaml"),
                       doctest::Contains("dup.yaml: config: duplicate key 'train_params.batch_size'"), Error);
  // Geometry that the layers used to reject deep inside (a pooling error, a 1x1 TPS grid) or an
  // epoch list that ran out of memory (std::bad_alloc).
  fails_with(replaced("max_features: 32, scale_factor: 0.5, num_blocks: 3}", "max_features: 32, scale_factor: 0.5, num_blocks: 5}"),
             "model_params.kp_detector_params.num_blocks 5 needs an input divisible by 32, but it runs at 16x16");
  fails_with(replaced("feature_matching: [10, 10, 10]", "feature_matching: [10]"),
             "train_params.loss_weights.feature_matching has 1 weights; the discriminator has 3 blocks");
  fails_with(replaced("num_repeats: 2", "num_repeats: 2000000000"), "train_params: batch_size at most 65536, num_epochs at most 1000000, num_repeats at most 100000");
  fails_with(base + "  transform_params: {points_tps: 1}\n", "train_params.transform_params.points_tps must be 0 (affine only) or at least 2");
  // Plain data only: anchors and aliases (cycles, alias bombs), deep nesting, tags, several documents.
  fails_with("dataset_params: &a {root_dir: x}\nmodel_params: *a\n", "YAML anchors and aliases are not allowed");
  fails_with(std::string("dataset_params: ") + std::string(100, '[') + std::string(100, ']') + "\n",
             "a config nests at most 32 levels");
  fails_with("dataset_params: !!python/object {root_dir: x}\n", "YAML tags are not allowed");
  fails_with(base + "---\n" + base, "a config is one YAML document");
  CHECK_NOTHROW(fomm::parse_fomm_config(base, "tiny"));
  // The layer refuses such a scale on its own too, before allocating.
  CHECK_THROWS_WITH_AS(AntiAliasInterpolation2d(3, 1e-6), doctest::Contains("scale must be in [1/256, 1]"), Error);
}
