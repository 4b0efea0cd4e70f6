// FOMM's DenseMotionNetwork and OcclusionAwareGenerator (official module names:
// dense_motion_network.{hourglass,mask,occlusion,down}, first, down_blocks, up_blocks,
// bottleneck.r<i>, final).
//
// grid_sample's align_corners is a switch: the official weights were trained when PyTorch
// sampled as align_corners = true; the official code run on a current PyTorch samples with
// false. Default: false (what the official code does today); set true to reproduce the original
// training behaviour of converted checkpoints.
#pragma once
#include <map>
#include <string>

#include "layers/anti_alias.h"
#include "layers/blocks.h"
#include "models/fomm/keypoint_detector.h"

namespace anima::fomm {

struct DenseMotionConfig {
  int64_t block_expansion = 64, max_features = 1024, num_kp = 10, num_channels = 3;
  int num_blocks = 5;
  bool estimate_occlusion_map = true;
  double scale_factor = 0.25;
  float kp_variance = 0.01f;
  bool align_corners = false;
};

struct DenseMotion {
  Tensor sparse_deformed;  // [N, K+1, C, h, w]
  Tensor mask;             // [N, K+1, h, w], softmax over K+1 (channel 0: background)
  Tensor deformation;      // [N, h, w, 2]
  Tensor occlusion_map;    // [N, 1, h, w] or undefined
};

class DenseMotionNetwork : public Module {
 public:
  DenseMotionNetwork(const DenseMotionConfig& config, Generator& gen);
  DenseMotion forward(const Tensor& source, const Keypoints& kp_driving, const Keypoints& kp_source);
  std::string type_name() const override { return "DenseMotionNetwork"; }
  // [N, K+1, h, w, 2]: identity for the background, then each keypoint's first-order motion.
  Tensor sparse_motions(int64_t h, int64_t w, const Keypoints& kp_driving, const Keypoints& kp_source) const;

  std::shared_ptr<Hourglass> hourglass;
  std::shared_ptr<Conv2d> mask, occlusion;
  std::shared_ptr<AntiAliasInterpolation2d> down;

 private:
  DenseMotionConfig cfg_;
};

struct GeneratorConfig {
  int64_t num_channels = 3, num_kp = 10, block_expansion = 64, max_features = 512;
  int num_down_blocks = 2, num_bottleneck_blocks = 6;
  bool estimate_occlusion_map = true;
  bool align_corners = false;
  DenseMotionConfig dense_motion;  // num_kp, num_channels, occlusion and align_corners are copied from here
};

struct GeneratorOutput {
  Tensor prediction, deformed;
  DenseMotion motion;
};

class OcclusionAwareGenerator : public Module {
 public:
  explicit OcclusionAwareGenerator(const GeneratorConfig& config, Generator& gen = default_generator());
  GeneratorOutput forward(const Tensor& source, const Keypoints& kp_driving, const Keypoints& kp_source);
  std::string type_name() const override { return "OcclusionAwareGenerator"; }

  std::shared_ptr<DenseMotionNetwork> dense_motion_network;
  std::shared_ptr<SameBlock2d> first;
  std::shared_ptr<ModuleList<DownBlock2d>> down_blocks;
  std::shared_ptr<ModuleList<UpBlock2d>> up_blocks;
  std::shared_ptr<Sequential> bottleneck;
  std::shared_ptr<Conv2d> final;

 private:
  Tensor deform(const Tensor& input, const Tensor& deformation) const;
  GeneratorConfig cfg_;
};

}  // namespace anima::fomm
