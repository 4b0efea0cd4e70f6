#include "models/refined_mask/config.h"

#include <algorithm>
#include <cmath>

#include "layers/anti_alias.h"
#include "layers/vgg.h"
#include "tensor/file_util.h"

namespace anima::refined_mask {
namespace {

void read_hourglass(ConfigSection& s, HourglassParams& p) {
  s.get("block_expansion", p.block_expansion);
  s.get("max_features", p.max_features);
  s.get("num_blocks", p.num_blocks);
}

void check_hourglass(const std::string& what, const std::string& name, const HourglassParams& p, int64_t h, int64_t w) {
  ANIMA_CHECK(p.block_expansion > 0 && p.max_features > 0 && p.num_blocks > 0 && p.num_blocks <= 12, what,
              ": model_params.", name, ": block_expansion and max_features must be positive, num_blocks in 1..12");
  int64_t f = int64_t(1) << p.num_blocks;
  ANIMA_CHECK(h % f == 0 && w % f == 0 && h >= f && w >= f, what, ": model_params.", name, ".num_blocks ", p.num_blocks,
              " needs an input divisible by ", f, ", but it runs at ", h, "x", w);
}

}  // namespace

int PerturbationParams::threshold_255() const { return int(std::lround(threshold.value * 255)); }

int64_t RefinedMaskConfig::mask_h() const { return int64_t(std::floor(double(frame_h()) * model.mask_scale)); }
int64_t RefinedMaskConfig::mask_w() const { return int64_t(std::floor(double(frame_w()) * model.mask_scale)); }

RefinedMaskConfig parse_refined_mask_config(const std::string& text, const std::string& what) {
  RefinedMaskConfig c;
  std::string threshold_text = "median";  // perturbation_params.threshold as written
  c.text = text;
  YAML::Node root = ConfigSection::load_root(text, what);
  {
    ConfigSection top(root, "", c.warnings, what);
    std::string kind;
    top.get("model", kind);
    ANIMA_CHECK(kind == "refined_mask", what, ": not a refined-mask config (top-level 'model: refined_mask' missing)");
    {
      ConfigSection d = top.sub("dataset_params");
      read_dataset_params(d, c.dataset);
    }
    {
      ConfigSection m = top.sub("model_params");
      ConfigSection common = m.sub("common_params");
      common.get("num_channels", c.model.num_channels);
      common.get("mask_scale", c.model.mask_scale);
      common.get_choice("encoder_block", c.model.encoder_block, kEncoderBlockNames);
      ConfigSection mg = m.sub("mask_generator_params");
      read_hourglass(mg, c.model.mask_generator);
      mg.get("temperature", c.model.mask_generator.temperature);
      mg.get("skip_connections", c.model.mask_generator.skip_connections);
      mg.get("pad", c.model.mask_pad);
      ConfigSection r = m.sub("refinement_params");
      read_hourglass(r, c.model.refinement);
      r.get("temperature", c.model.refinement.temperature);
      r.get("skip_connections", c.model.refinement.skip_connections);
      ConfigSection l = m.sub("low_res_params");
      l.get("block_expansion", c.model.low_res.block_expansion);
      l.get("max_features", c.model.low_res.max_features);
      l.get("num_bottleneck_blocks", c.model.low_res.num_bottleneck_blocks);
      l.get("num_up_blocks", c.model.low_res.num_up_blocks);
      ConfigSection h = m.sub("high_res_params");
      read_hourglass(h, c.model.high_res);
    }
    {
      ConfigSection p = top.sub("perturbation_params");
      p.get("threshold", threshold_text);
      p.get("poisson_lambda", c.perturbation.poisson_lambda);
      p.get("scale_jitter", c.perturbation.scale_jitter);
      p.get("test_scale", c.perturbation.test_scale);
      p.get_choice("quantize", c.perturbation.quantize, kPTestQuantizeNames);
    }
    {
      ConfigSection t = top.sub("train_params");
      read_train_schedule(t, c.train);
      t.get("lr", c.train.lr);
      t.get("betas", c.train.betas);
      t.get("scales", c.train.scales);
      t.get("refinement_start_epoch", c.train.refinement_start_epoch);
      ConfigSection a = t.sub("augmentation_params");
      a.get("brightness", c.train.brightness);
      a.get("contrast", c.train.contrast);
      a.get("saturation", c.train.saturation);
      a.get("hue", c.train.hue);
      ConfigSection w = t.sub("loss_weights");
      w.get("mask", c.train.loss_weights.mask);
      w.get("reconstruction", c.train.loss_weights.reconstruction);
      w.get("perceptual_layers", c.train.loss_weights.perceptual_layers);
      w.get("perceptual", c.train.loss_weights.perceptual);
    }
    {
      ConfigSection r = top.sub("reconstruction_params");
      r.get("num_videos", c.reconstruction_num_videos);
      r.ignore("format");
      ConfigSection a = top.sub("animate_params");
      a.get("num_pairs", c.animate_num_pairs);
      a.ignore("format");
      top.ignore("visualizer_params");
    }
  }
  const ModelParams& m = c.model;
  check_run_config(c, c.train, what);
  ANIMA_CHECK(m.num_channels == 3, what, ": model_params.common_params.num_channels must be 3 (RGB), got ",
              m.num_channels);
  ANIMA_CHECK(m.mask_scale > 0 && m.mask_scale <= 1, what, ": model_params.common_params.mask_scale must be in (0, 1]");
  ANIMA_CHECK(m.mask_pad >= 0 && m.mask_pad <= 3, what, ": model_params.mask_generator_params.pad must be 0..3");
  ANIMA_CHECK(m.mask_generator.temperature > 0 && m.refinement.temperature > 0, what,
              ": the mask networks' temperatures must be positive");
  int64_t mh = c.mask_h(), mw = c.mask_w();
  check_hourglass(what, "mask_generator_params", m.mask_generator, mh, mw);
  check_hourglass(what, "refinement_params", m.refinement, mh, mw);
  check_hourglass(what, "high_res_params", m.high_res, c.frame_h(), c.frame_w());
  ANIMA_CHECK(m.low_res.num_up_blocks >= 0 && m.low_res.num_up_blocks <= 12 && m.low_res.num_bottleneck_blocks >= 0 &&
                  m.low_res.block_expansion > 0 && m.low_res.max_features > 0,
              what, ": low_res_params: num_up_blocks in 0..12, num_bottleneck_blocks >= 0, positive widths");
  int64_t up = int64_t(1) << m.low_res.num_up_blocks;
  ANIMA_CHECK(mh * up == c.frame_h() && mw * up == c.frame_w(), what, ": low_res_params.num_up_blocks ",
              m.low_res.num_up_blocks, " takes ", mh, "x", mw, " masks to ", mh * up, "x", mw * up, ", but frames are ",
              c.frame_h(), "x", c.frame_w(), " (mask_scale must be 2^-num_up_blocks)");
  ANIMA_CHECK(mh >= 12 && mw >= 12, what, ": masks of ", mh, "x", mw, " are too small for P_train (at least 12x12)");
  if (threshold_text != "median") {
    double v = 0;
    try {
      size_t used = 0;
      v = std::stod(threshold_text, &used);
      ANIMA_CHECK(used == threshold_text.size(), "trailing characters");
    } catch (const std::exception&) {
      ANIMA_FAIL(what, ": perturbation_params.threshold must be median or a number in [0, 1], got '", threshold_text,
                 "'");
    }
    ANIMA_CHECK(v >= 0 && v <= 1, what, ": perturbation_params.threshold ", v, " outside [0, 1]");
    c.perturbation.threshold = {false, v};
  }
  ANIMA_CHECK(c.perturbation.poisson_lambda >= 0, what, ": perturbation_params.poisson_lambda must be >= 0");
  ANIMA_CHECK(c.perturbation.scale_jitter >= 0 && c.perturbation.scale_jitter < 1, what,
              ": perturbation_params.scale_jitter must be in [0, 1), got ", c.perturbation.scale_jitter);
  ANIMA_CHECK(c.perturbation.test_scale > 0, what, ": perturbation_params.test_scale must be positive, got ",
              c.perturbation.test_scale);
  if (c.perturbation.quantize == PTestQuantize::Code) {
    ANIMA_CHECK(!c.perturbation.threshold.median, what,
                ": perturbation_params.quantize: code thresholds at a fixed 0..255 value as the released code does; "
                "it needs a number for perturbation_params.threshold (e.g. 0.39215686274509803 = 100/255), not median");
    double t255 = c.perturbation.threshold.value * 255;
    if (std::fabs(t255 - std::round(t255)) > 1e-6)
      c.warnings.push_back("perturbation_params.threshold " + std::to_string(c.perturbation.threshold.value) + " is " +
                           std::to_string(t255) + "/255; quantize: code thresholds at the nearest integer, " +
                           std::to_string(c.perturbation.threshold_255()) + "/255");
    // The kernel's bound on the warp (kernels::perturb_test_code).
    ANIMA_CHECK(double(std::max(c.mask_h(), c.mask_w())) * std::max(1.0, 1.0 / c.perturbation.test_scale) <= 16384,
                what, ": perturbation_params.test_scale ", c.perturbation.test_scale, " on ", c.mask_h(), "x",
                c.mask_w(),
                " masks is outside what quantize: code supports (max(H, W) * max(1, 1 / test_scale) <= 16384)");
  }
  const LossParams& w = c.train.loss_weights;
  ANIMA_CHECK(w.perceptual.size() == w.perceptual_layers.size(), what, ": train_params.loss_weights.perceptual has ",
              w.perceptual.size(), " weights for ", w.perceptual_layers.size(), " perceptual_layers");
  ANIMA_CHECK(!w.perceptual_layers.empty() && !c.train.scales.empty(), what,
              ": train_params needs at least one perceptual layer and one scale");
  for (const std::string& layer : w.perceptual_layers) {
    try {
      Vgg19::relu_index(layer);
    } catch (const std::exception&) {
      ANIMA_FAIL(what, ": train_params.loss_weights.perceptual_layers: unknown VGG-19 layer '", layer,
                 "' (relu1_1, relu1_2, relu2_1, ..., relu5_1)");
    }
  }
  for (double s : c.train.scales)
    ANIMA_CHECK(std::isfinite(s) && s >= AntiAliasInterpolation2d::kMinScale && s <= 1, what,
                ": train_params.scales must be in [1/256, 1], got ", s);
  ANIMA_CHECK(w.mask >= 0 && w.reconstruction >= 0, what, ": loss weights must be >= 0");
  ANIMA_CHECK(std::isfinite(c.train.lr) && c.train.lr > 0, what, ": train_params.lr must be finite and positive, got ",
              c.train.lr);
  ANIMA_CHECK(c.train.brightness >= 0 && c.train.contrast >= 0 && c.train.saturation >= 0 && c.train.hue >= 0 &&
                  c.train.hue <= 0.5,
              what, ": train_params.augmentation_params: factors must be >= 0 and hue <= 0.5");
  if (c.train.refinement_start_epoch >= c.train.num_epochs)
    c.warnings.push_back("train_params.refinement_start_epoch " + std::to_string(c.train.refinement_start_epoch) +
                         " >= num_epochs " + std::to_string(c.train.num_epochs) + ": r never trains");
  ANIMA_CHECK(c.train.betas.size() == 2 && c.train.betas[0] >= 0 && c.train.betas[0] < 1 && c.train.betas[1] >= 0 &&
                  c.train.betas[1] < 1,
              what, ": train_params.betas must be [beta1, beta2], each in [0, 1)");
  return c;
}

RefinedMaskConfig load_refined_mask_config(const std::string& path) {
  return parse_refined_mask_config(read_file_bytes(path), path);
}

}  // namespace anima::refined_mask
