// Configuration of the refined-masking model ("Image Animation with Refined Masking"), in the
// First Order Motion Model's YAML layout (dataset_params, model_params, train_params) with
// `model: refined_mask` at the top. The defaults below are the paper's values; where the paper is
// silent they are the authors' released code's, and where the two differ the code's choice is an
// option (named in each comment as "code:").
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "models/common/run_config.h"

namespace anima::refined_mask {

// An encoder-decoder of appendix A: num_blocks encoding blocks (conv3x3, ReLU, BN, avgpool) and
// as many decoding blocks (upsample, conv3x3, BN, ReLU), channels block_expansion * 2^(i+1)
// capped at max_features.
struct HourglassParams {
  int64_t block_expansion = 64, max_features = 1024;
  int num_blocks = 5;
};

struct MaskNetParams : HourglassParams {
  // The sigmoid's input is divided by this (code: 0.1).
  float temperature = 1.0f;
  // Skip connections from each encoding block to its decoding block (a U-Net, as h). Neither the
  // paper nor the code has them in m or r; an option for small budgets.
  bool skip_connections = false;
};

enum class EncoderBlock { Paper, Code };
inline constexpr std::pair<EncoderBlock, const char*> kEncoderBlockNames[] = {{EncoderBlock::Paper, "paper"},
                                                                              {EncoderBlock::Code, "code"}};

struct ModelParams {
  int64_t num_channels = 3;
  // D: frame resolution -> mask resolution (256 -> 64). m downsamples with the anti-aliasing
  // Gaussian of the First Order Motion Model (as the code); D(s) for r and l is bilinear.
  double mask_scale = 0.25;
  // Encoding block order: "paper" conv-ReLU-BN-pool (appendix A); code: "code" conv-BN-ReLU-pool.
  EncoderBlock encoder_block = EncoderBlock::Paper;
  // m's final 7x7 conv padding: 3 keeps the resolution; code: 0 (58x58 masks, zero-padded back).
  int mask_pad = 3;
  MaskNetParams mask_generator{{32, 1024, 5}, 1.0f};
  MaskNetParams refinement{{64, 1024, 5}, 1.0f};
  // l: conv7x7-BN-ReLU to min(max_features, block_expansion * 2^num_up_blocks) channels,
  // num_bottleneck_blocks residual blocks, num_up_blocks up blocks, conv7x7, sigmoid.
  struct LowRes {
    int64_t block_expansion = 64, max_features = 1024;
    int num_bottleneck_blocks = 6, num_up_blocks = 2;
  } low_res;
  HourglassParams high_res{64, 1024, 5};  // h: U-Net (skip connections)
};

// How P_test computes its result: "float" (the paper's description) zeroes the pixels below the
// threshold and shrinks the float mask (bilinear, kernels::perturb_test); code: "code" does what
// the released code does (kernels::perturb_test_code): the mask as 0..255 intensities, pixels <=
// the threshold zeroed, truncated to uint8, shrunk by OpenCV's warpAffine (fixed point), / 255.
enum class PTestQuantize { Float, Code };
inline constexpr std::pair<PTestQuantize, const char*> kPTestQuantizeNames[] = {{PTestQuantize::Float, "float"},
                                                                                {PTestQuantize::Code, "code"}};

struct PerturbationParams {
  // rho: "median" (the paper: per mask) or a fixed value in [0, 1] (code: 100/255 faces, 60/255).
  // P_train takes the median of m(A(d)) before its strip and global scalings.
  struct Threshold {
    bool median = true;
    double value = 0;  // when not median
  } threshold;
  double poisson_lambda = 20;  // P_train's noise
  // P_train draws its strip and whole-mask scale factors from U[1 - scale_jitter, 1 + scale_jitter]
  // (the paper: [0.75, 1.25]); P_test shrinks the thresholded mask by test_scale (the paper: 0.75).
  double scale_jitter = 0.25;
  double test_scale = 0.75;
  // P_test's arithmetic; "code" needs a fixed threshold (the code's 100/255 or 60/255).
  PTestQuantize quantize = PTestQuantize::Float;
  // The fixed threshold in the code's 0..255 units: round(value * 255), halves away from zero
  // (100/255 -> 100). Only meaningful when !threshold.median.
  int threshold_255() const;
};

struct LossParams {
  float mask = 100;           // lambda1
  float reconstruction = 10;  // lambda2
  // "the first, the third and the fifth ReLU layers": read as the 1st, 3rd and 5th of the five
  // layers of the pix2pixHD VGG loss the paper builds on (relu1_1..relu5_1). Counting every ReLU
  // of VGG-19 instead gives relu1_1, relu2_1, relu3_1 (also the code's faces setting); code: all
  // five on 4 scales.
  std::vector<std::string> perceptual_layers{"relu1_1", "relu3_1", "relu5_1"};
  std::vector<float> perceptual{1, 1, 1};  // per-layer weights (times lambda2)
};

struct TrainParams : TrainSchedule {
  TrainParams() { checkpoint_freq = 10; }
  double lr = 2e-4;
  std::vector<double> betas{0.5, 0.9};       // code: (0.5, 0.999)
  std::vector<double> scales{1, 0.5, 0.25};  // reconstruction pyramid (256, 128, 64)
  int refinement_start_epoch = 1;            // r trains from the second epoch on
  // Augmentation A of the driving frame: brightness, contrast, saturation factors in
  // [1 - x, 1 + x], hue shift in [-hue, hue].
  float brightness = 0.1f, contrast = 0.1f, saturation = 0.1f, hue = 0.1f;
  LossParams loss_weights;
};

struct RefinedMaskConfig : RunConfig {
  ModelParams model;
  PerturbationParams perturbation;
  TrainParams train;
  int64_t mask_h() const;
  int64_t mask_w() const;
};

RefinedMaskConfig load_refined_mask_config(const std::string& path);
RefinedMaskConfig parse_refined_mask_config(const std::string& yaml_text, const std::string& what);

}  // namespace anima::refined_mask
