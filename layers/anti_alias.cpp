#include "layers/anti_alias.h"

#include <cmath>
#include <sstream>

namespace anima {

AntiAliasInterpolation2d::AntiAliasInterpolation2d(int64_t channels, double scale) : scale_(scale) {
  ANIMA_CHECK(std::isfinite(scale) && scale >= kMinScale && scale <= 1,
              "AntiAliasInterpolation2d: scale must be in [1/256, 1], got ", scale);
  double sigma = (1.0 / scale - 1.0) / 2.0;
  kernel_size_ = 2 * int(std::nearbyint(sigma * 4)) + 1;  // Python's round: half to even
  pad_ = kernel_size_ / 2;
  stride_ = int(1.0 / scale);
  int k = kernel_size_;
  std::vector<float> kernel(size_t(k) * size_t(k));
  double mean = (k - 1) / 2.0, total = 0;
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j) {
      // float32 as FOMM computes it: exp(-(i - mean)^2 / (2 sigma^2)) * exp(-(j - mean)^2 / ...)
      float gi = std::exp(-float((i - mean) * (i - mean)) / float(2 * sigma * sigma));
      float gj = std::exp(-float((j - mean) * (j - mean)) / float(2 * sigma * sigma));
      kernel[size_t(i) * size_t(k) + size_t(j)] = gi * gj;
      total += double(gi * gj);
    }
  std::vector<float> all;
  for (int64_t c = 0; c < channels; ++c)
    for (float v : kernel) all.push_back(float(v / total));
  weight = Tensor::from_vector(all, Shape{channels, 1, k, k});
  register_buffer("weight", &weight);
}

Tensor AntiAliasInterpolation2d::forward(const Tensor& x) {
  if (scale_ == 1.0) return x;
  int64_t c = weight.size(0);
  // FOMM blurs at full resolution and then keeps every stride-th pixel; a strided convolution
  // computes exactly those pixels (same values, same output size ceil(H / stride)) and skips the rest.
  return conv2d(x, weight, Tensor(), Conv2dParams{stride_, stride_, pad_, pad_, 1, 1, int(c)});
}

std::string ImagePyramid::scale_key(double scale) {
  if (scale == std::floor(scale)) return std::to_string(int64_t(scale));
  std::ostringstream os;
  os.precision(12);
  os << scale;
  return os.str();
}

ImagePyramid::ImagePyramid(const std::vector<double>& scales, int64_t channels) {
  auto dict = register_module("downs", std::make_shared<ModuleDict>());
  for (double s : scales) {
    std::string key = scale_key(s);
    for (char& ch : key)
      if (ch == '.') ch = '-';
    downs_.emplace_back(s, dict->add("down_" + key, std::make_shared<AntiAliasInterpolation2d>(channels, s)));
  }
}

std::map<std::string, Tensor> ImagePyramid::forward(const Tensor& x) {
  std::map<std::string, Tensor> out;
  for (auto& [s, down] : downs_) out["prediction_" + scale_key(s)] = down->forward(x);
  return out;
}

}  // namespace anima
