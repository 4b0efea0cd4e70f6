#include "models/fomm/config.h"

#include <cmath>

#include "layers/anti_alias.h"
#include "tensor/file_util.h"

namespace anima::fomm {
using Section = ConfigSection;

namespace {

// Every value the networks and the step are built from, checked here so that a bad config is an
// error naming the file and the key, never a failure deep inside a layer.
void check_values(const FommConfig& c, const std::string& what) {
  auto positive = [&](int64_t v, const char* key, int64_t most = int64_t(1) << 20) {
    ANIMA_CHECK(v > 0 && v <= most, what, ": model_params.", key, " must be in 1..", most, ", got ", v);
  };
  auto in_range = [&](int64_t v, const char* key, int64_t lo, int64_t hi) {
    ANIMA_CHECK(v >= lo && v <= hi, what, ": ", key, " must be in ", lo, "..", hi, ", got ", v);
  };
  auto scale = [&](double s, const char* key) {
    ANIMA_CHECK(std::isfinite(s) && s >= AntiAliasInterpolation2d::kMinScale && s <= 1, what, ": ", key,
                " must be in [1/", int(1 / AntiAliasInterpolation2d::kMinScale), ", 1], got ", s);
  };
  auto finite_nonnegative = [&](double v, const char* key) {
    ANIMA_CHECK(std::isfinite(v) && v >= 0, what, ": ", key, " must be finite and >= 0, got ", v);
  };
  const KPDetectorConfig& kp = c.kp_detector;
  positive(kp.num_kp, "common_params.num_kp", 1024);
  ANIMA_CHECK(kp.num_channels == 3, what, ": model_params.common_params.num_channels must be 3 (RGB), got ",
              kp.num_channels);
  positive(kp.block_expansion, "kp_detector_params.block_expansion");
  positive(kp.max_features, "kp_detector_params.max_features");
  in_range(kp.num_blocks, "model_params.kp_detector_params.num_blocks", 1, 12);
  ANIMA_CHECK(std::isfinite(kp.temperature) && kp.temperature > 0, what,
              ": model_params.kp_detector_params.temperature must be positive, got ", kp.temperature);
  scale(kp.scale_factor, "model_params.kp_detector_params.scale_factor");
  in_range(kp.pad, "model_params.kp_detector_params.pad", 0, 3);
  const GeneratorConfig& g = c.generator;
  positive(g.block_expansion, "generator_params.block_expansion");
  positive(g.max_features, "generator_params.max_features");
  in_range(g.num_down_blocks, "model_params.generator_params.num_down_blocks", 0, 12);
  in_range(g.num_bottleneck_blocks, "model_params.generator_params.num_bottleneck_blocks", 0, 64);
  positive(g.dense_motion.block_expansion, "generator_params.dense_motion_params.block_expansion");
  positive(g.dense_motion.max_features, "generator_params.dense_motion_params.max_features");
  in_range(g.dense_motion.num_blocks, "model_params.generator_params.dense_motion_params.num_blocks", 1, 12);
  scale(g.dense_motion.scale_factor, "model_params.generator_params.dense_motion_params.scale_factor");
  const DiscriminatorConfig& d = c.discriminator;
  positive(d.block_expansion, "discriminator_params.block_expansion");
  positive(d.max_features, "discriminator_params.max_features");
  in_range(d.num_blocks, "model_params.discriminator_params.num_blocks", 1, 12);
  ANIMA_CHECK(!d.scales.empty(), what, ": model_params.discriminator_params.scales needs at least one scale");
  for (double s : d.scales) scale(s, "model_params.discriminator_params.scales");
  const TrainParams& t = c.train;
  for (double lr : {t.lr_generator, t.lr_discriminator, t.lr_kp_detector})
    ANIMA_CHECK(std::isfinite(lr) && lr >= 0, what, ": train_params lr_generator, lr_discriminator and lr_kp_detector ",
                "must be finite and >= 0 (0 freezes the network), got ", lr);
  for (int m : t.epoch_milestones)
    ANIMA_CHECK(m >= 0, what, ": train_params.epoch_milestones must be >= 0, got ", m);
  ANIMA_CHECK(!t.scales.empty(), what, ": train_params.scales needs at least one scale (the perceptual pyramid)");
  for (double s : t.scales) scale(s, "train_params.scales");
  finite_nonnegative(t.transform_params.sigma_affine, "train_params.transform_params.sigma_affine");
  finite_nonnegative(t.transform_params.sigma_tps, "train_params.transform_params.sigma_tps");
  in_range(t.transform_params.points_tps, "train_params.transform_params.points_tps", 0, 64);
  ANIMA_CHECK(t.transform_params.points_tps != 1, what,
              ": train_params.transform_params.points_tps must be 0 (affine only) or at least 2 (a TPS grid)");
  // The networks' geometry at the frame size: each hourglass halves its input num_blocks times
  // (an input divisible by 2^num_blocks), the generator num_down_blocks times, and each
  // discriminator block takes a 4x4 convolution then a 2x2 pooling.
  int64_t fh = c.frame_h(), fw = c.frame_w();
  auto at_scale = [](int64_t side, double scale) {  // AntiAliasInterpolation2d's output size
    int64_t stride = int64_t(1.0 / scale);
    return scale == 1.0 ? side : (side + stride - 1) / stride;
  };
  auto fits = [&](double scale, int blocks, const char* key) {
    int64_t h = at_scale(fh, scale), w = at_scale(fw, scale), f = int64_t(1) << blocks;
    ANIMA_CHECK(h % f == 0 && w % f == 0 && h >= f && w >= f, what, ": model_params.", key, " ", blocks,
                " needs an input divisible by ", f, ", but it runs at ", h, "x", w, " (frames of ", fh, "x", fw,
                " at scale ", scale, ")");
  };
  fits(kp.scale_factor, kp.num_blocks, "kp_detector_params.num_blocks");
  fits(g.dense_motion.scale_factor, g.dense_motion.num_blocks, "generator_params.dense_motion_params.num_blocks");
  fits(1.0, g.num_down_blocks, "generator_params.num_down_blocks");
  for (double s : d.scales) {
    int64_t h = at_scale(fh, s), w = at_scale(fw, s);
    for (int b = 0; b < d.num_blocks; ++b) {
      ANIMA_CHECK(h >= 4 && w >= 4, what, ": model_params.discriminator_params: ", d.num_blocks, " blocks do not fit ",
                  at_scale(fh, s), "x", at_scale(fw, s), " inputs (scale ", s, "); block ", b + 1, " gets ", h, "x", w);
      h -= 3, w -= 3;  // the 4x4 convolution, no padding
      if (b + 1 < d.num_blocks) h /= 2, w /= 2;  // every block but the last pools
    }
  }
  const LossWeights& w = t.loss_weights;
  for (double v : {double(w.generator_gan), double(w.discriminator_gan), double(w.equivariance_value),
                   double(w.equivariance_jacobian)})
    finite_nonnegative(v, "train_params.loss_weights (generator_gan, discriminator_gan, equivariance_*)");
  for (float v : w.feature_matching) finite_nonnegative(v, "train_params.loss_weights.feature_matching");
  bool matching = false;
  for (float v : w.feature_matching) matching = matching || v != 0;
  ANIMA_CHECK(!matching || int(w.feature_matching.size()) == d.num_blocks, what,
              ": train_params.loss_weights.feature_matching has ", w.feature_matching.size(),
              " weights; the discriminator has ", d.num_blocks, " blocks (one weight per block's feature map)");
  for (float v : w.perceptual) finite_nonnegative(v, "train_params.loss_weights.perceptual");
  ANIMA_CHECK(w.perceptual.size() <= 5, what, ": train_params.loss_weights.perceptual has ", w.perceptual.size(),
              " weights; VGG-19's perceptual loss has 5 layers");
  ANIMA_CHECK(c.reconstruction_num_videos >= 0 && c.animate_num_pairs >= 0, what,
              ": reconstruction_params.num_videos and animate_params.num_pairs must be >= 0");
}

}  // namespace

FommConfig parse_fomm_config(const std::string& text, const std::string& what) {
  FommConfig c;
  c.text = text;
  YAML::Node root = ConfigSection::load_root(text, what);
  {
    Section top(root, "", c.warnings, what);
    std::string kind = "fomm";
    top.get("model", kind);  // anima's selector; refined_mask configs are read by models/refined_mask
    ANIMA_CHECK(kind == "fomm", what, ": a '", kind, "' config, not a First Order Motion Model one");
    {
      Section d = top.sub("dataset_params");
      read_dataset_params(d, c.dataset);
    }
    {
      Section m = top.sub("model_params");
      Section common = m.sub("common_params");
      int64_t num_kp = 10, num_channels = 3;
      bool jacobian = true;
      common.get("num_kp", num_kp);
      common.get("num_channels", num_channels);
      common.get("estimate_jacobian", jacobian);
      c.kp_detector.num_kp = c.generator.num_kp = c.discriminator.num_kp = num_kp;
      c.kp_detector.num_channels = c.generator.num_channels = c.discriminator.num_channels = num_channels;
      c.kp_detector.estimate_jacobian = jacobian;
      Section kp = m.sub("kp_detector_params");
      kp.get("temperature", c.kp_detector.temperature);
      kp.get("block_expansion", c.kp_detector.block_expansion);
      kp.get("max_features", c.kp_detector.max_features);
      kp.get("scale_factor", c.kp_detector.scale_factor);
      kp.get("num_blocks", c.kp_detector.num_blocks);
      kp.get("single_jacobian_map", c.kp_detector.single_jacobian_map);
      kp.get("pad", c.kp_detector.pad);
      Section g = m.sub("generator_params");
      g.get("block_expansion", c.generator.block_expansion);
      g.get("max_features", c.generator.max_features);
      g.get("num_down_blocks", c.generator.num_down_blocks);
      g.get("num_bottleneck_blocks", c.generator.num_bottleneck_blocks);
      g.get("estimate_occlusion_map", c.generator.estimate_occlusion_map);
      g.get("align_corners", c.generator.align_corners);  // anima's switch (see generator.h)
      Section dm = g.sub("dense_motion_params");
      dm.get("block_expansion", c.generator.dense_motion.block_expansion);
      dm.get("max_features", c.generator.dense_motion.max_features);
      dm.get("num_blocks", c.generator.dense_motion.num_blocks);
      dm.get("scale_factor", c.generator.dense_motion.scale_factor);
      Section d = m.sub("discriminator_params");
      d.get("scales", c.discriminator.scales);
      d.get("block_expansion", c.discriminator.block_expansion);
      d.get("max_features", c.discriminator.max_features);
      d.get("num_blocks", c.discriminator.num_blocks);
      d.get("sn", c.discriminator.sn);
      d.get("use_kp", c.discriminator.use_kp);
    }
    {
      Section t = top.sub("train_params");
      read_train_schedule(t, c.train);
      t.get("lr_generator", c.train.lr_generator);
      t.get("lr_discriminator", c.train.lr_discriminator);
      t.get("lr_kp_detector", c.train.lr_kp_detector);
      t.get("scales", c.train.scales);
      Section tp = t.sub("transform_params");
      tp.get("sigma_affine", c.train.transform_params.sigma_affine);
      tp.get("sigma_tps", c.train.transform_params.sigma_tps);
      tp.get("points_tps", c.train.transform_params.points_tps);
      Section lw = t.sub("loss_weights");
      lw.get("generator_gan", c.train.loss_weights.generator_gan);
      lw.get("discriminator_gan", c.train.loss_weights.discriminator_gan);
      lw.get("feature_matching", c.train.loss_weights.feature_matching);
      lw.get("perceptual", c.train.loss_weights.perceptual);
      lw.get("equivariance_value", c.train.loss_weights.equivariance_value);
      lw.get("equivariance_jacobian", c.train.loss_weights.equivariance_jacobian);
    }
    // prioritycut_params is read by models/prioritycut/config.h, the variant that uses it.
    top.ignore("prioritycut_params");
    {
      Section r = top.sub("reconstruction_params");
      r.get("num_videos", c.reconstruction_num_videos);
      r.ignore("format");
      Section a = top.sub("animate_params");
      a.get("num_pairs", c.animate_num_pairs);
      a.ignore("format");
      Section n = a.sub("normalization_params");
      n.get("adapt_movement_scale", c.normalization.adapt_movement_scale);
      n.get("use_relative_movement", c.normalization.use_relative_movement);
      n.get("use_relative_jacobian", c.normalization.use_relative_jacobian);
      top.ignore("visualizer_params");
    }
  }
  check_run_config(c, c.train, what);
  check_values(c, what);
  const std::vector<float>& ratio = c.dataset.resize_ratio;
  ANIMA_CHECK(ratio.empty() || (ratio.size() == 2 && ratio[0] > 0 && ratio[0] <= ratio[1]), what,
              ": dataset_params.augmentation_params.resize_param.ratio must be [low, high] with 0 < low <= high");
  const std::vector<int64_t>& crop = c.dataset.crop_size;
  ANIMA_CHECK(crop.empty() || (crop.size() == 2 && crop[0] > 0 && crop[1] > 0), what,
              ": dataset_params.augmentation_params.crop_param.size must be a positive number or [h, w]");
  return c;
}

FommConfig load_fomm_config(const std::string& path) { return parse_fomm_config(read_file_bytes(path), path); }

}  // namespace anima::fomm
