// FOMM's AntiAliasInterpolation2d: a Gaussian blur (sigma = (1/scale - 1) / 2, kernel
// 2 * round(4 sigma) + 1, normalised) applied per channel as a depthwise convolution with zero
// padding, then every (1/scale)-th pixel. The kernel is the buffer "weight" [C, 1, k, k], as in
// the official state_dict. And the image pyramid built from it.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "layers/layers.h"

namespace anima {

class AntiAliasInterpolation2d : public UnaryModule {
 public:
  // The smallest scale: its kernel is 1025 x 1025 (a scale from a config or a checkpoint is checked
  // against it before any allocation).
  static constexpr double kMinScale = 1.0 / 256;
  AntiAliasInterpolation2d(int64_t channels, double scale);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "AntiAliasInterpolation2d"; }
  int kernel_size() const { return kernel_size_; }

  Tensor weight;  // buffer

 private:
  double scale_;
  int kernel_size_ = 1, pad_ = 0, stride_ = 1;
};

// FOMM's ImagePyramide: children "downs.down_<scale with '.' -> '-'>", e.g. downs.down_0-25.
// forward returns "prediction_<scale>" -> image at that scale, for every configured scale.
class ImagePyramid : public Module {
 public:
  ImagePyramid(const std::vector<double>& scales, int64_t channels);
  std::map<std::string, Tensor> forward(const Tensor& x);
  std::string type_name() const override { return "ImagePyramide"; }
  // FOMM's key for a scale: str(scale) in Python ("1", "0.5", "0.25", "0.125").
  static std::string scale_key(double scale);

 private:
  std::vector<std::pair<double, std::shared_ptr<AntiAliasInterpolation2d>>> downs_;
};

}  // namespace anima
