// FOMM's KPDetector: anti-aliased downscaling (scale_factor), an hourglass, a 7x7 keypoint head
// (no padding by default: 64x64 input gives 58x58 heatmaps), a spatial softmax with temperature
// 0.1, the heatmap-weighted keypoints, and a Jacobian head initialised to the identity.
// Parameter names: predictor.*, kp.*, jacobian.*, down.weight (buffer).
#pragma once
#include "layers/anti_alias.h"
#include "layers/blocks.h"

namespace anima::fomm {

struct KPDetectorConfig {
  int64_t block_expansion = 32, num_kp = 10, num_channels = 3, max_features = 1024;
  int num_blocks = 5;
  float temperature = 0.1f;
  bool estimate_jacobian = true;
  double scale_factor = 0.25;
  bool single_jacobian_map = false;
  int pad = 0;
};

struct Keypoints {
  Tensor value;     // [N, K, 2], (x, y) in [-1, 1]
  Tensor jacobian;  // [N, K, 2, 2] (undefined without Jacobians)
  Tensor heatmap;   // [N, K, h, w], for visualisation
};

class KPDetector : public Module {
 public:
  explicit KPDetector(const KPDetectorConfig& config, Generator& gen = default_generator());
  Keypoints forward(const Tensor& image);
  std::string type_name() const override { return "KPDetector"; }
  const KPDetectorConfig& config() const { return cfg_; }

  std::shared_ptr<Hourglass> predictor;
  std::shared_ptr<Conv2d> kp, jacobian;
  std::shared_ptr<AntiAliasInterpolation2d> down;

 private:
  KPDetectorConfig cfg_;
};

}  // namespace anima::fomm
