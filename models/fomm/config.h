// First Order Motion Model configurations, read from the official YAML format
// (dataset_params, model_params {common_params, kp_detector_params, generator_params,
// discriminator_params}, train_params, reconstruction_params, animate_params), so that the
// official configs load unchanged. Keys the file gives override the defaults below (which are
// the official code's defaults); unknown keys are reported as warnings (typos do not pass
// silently); wrong types are errors naming the key.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "models/common/config_section.h"
#include "models/common/run_config.h"
#include "models/fomm/discriminator.h"
#include "models/fomm/generator.h"
#include "models/fomm/keypoint_detector.h"
#include "models/fomm/transform.h"

namespace anima::fomm {

struct LossWeights {
  // generator_gan 0 turns the whole GAN off, as in the official code: no gen_gan, no feature
  // matching, no discriminator step, whatever discriminator_gan and feature_matching say.
  float generator_gan = 0, discriminator_gan = 1;
  std::vector<float> feature_matching{0, 0, 0, 0};
  std::vector<float> perceptual{10, 10, 10, 10, 10};
  float equivariance_value = 10, equivariance_jacobian = 10;
};

struct TrainParams : TrainSchedule {
  double lr_generator = 2e-4, lr_discriminator = 2e-4, lr_kp_detector = 2e-4;
  std::vector<double> scales{1, 0.5, 0.25, 0.125};
  TransformParams transform_params;
  LossWeights loss_weights;
};

struct NormalizationParams {
  bool adapt_movement_scale = false, use_relative_movement = true, use_relative_jacobian = true;
};

struct FommConfig : RunConfig {
  KPDetectorConfig kp_detector;
  GeneratorConfig generator;
  DiscriminatorConfig discriminator;
  TrainParams train;
  NormalizationParams normalization;
};

FommConfig load_fomm_config(const std::string& path);
FommConfig parse_fomm_config(const std::string& yaml_text, const std::string& what);

}  // namespace anima::fomm
