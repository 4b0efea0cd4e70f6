#include "models/fomm/keypoint_detector.h"

#include "kernels/elementwise.h"
#include "models/fomm/geometry.h"
#include "tensor/trace.h"

namespace anima::fomm {

KPDetector::KPDetector(const KPDetectorConfig& c, Generator& gen) : cfg_(c) {
  predictor = register_module(
      "predictor", std::make_shared<Hourglass>(c.block_expansion, c.num_channels, c.num_blocks, c.max_features, gen));
  kp = register_module("kp",
                       std::make_shared<Conv2d>(predictor->out_filters(), c.num_kp, 7, Conv2d::Options{1, c.pad}, gen));
  if (c.estimate_jacobian) {
    int64_t maps = c.single_jacobian_map ? 1 : c.num_kp;
    jacobian = register_module(
        "jacobian", std::make_shared<Conv2d>(predictor->out_filters(), 4 * maps, 7, Conv2d::Options{1, c.pad}, gen));
    // Identity Jacobians at the start: zero weights, bias (1, 0, 0, 1) per map.
    kernels::fill(jacobian->weight, 0.0);
    std::vector<float> bias;
    for (int64_t m = 0; m < maps; ++m) bias.insert(bias.end(), {1.f, 0.f, 0.f, 1.f});
    raw::copy_into(jacobian->bias, Tensor::from_vector(bias, Shape{4 * maps}));
  }
  if (c.scale_factor != 1)
    down = register_module("down", std::make_shared<AntiAliasInterpolation2d>(c.num_channels, c.scale_factor));
}

Keypoints KPDetector::forward(const Tensor& image) {
  ANIMA_TRACE("fomm.kp_detector");
  Tensor x = down ? down->forward(image) : image;
  Tensor feature_map = predictor->forward(x);
  Tensor prediction = kp->forward(feature_map);
  SpatialKeypoints sk = heatmap_to_keypoints(prediction, cfg_.temperature);
  Keypoints out{sk.value, Tensor(), sk.heatmap};
  if (jacobian) {
    int64_t n = prediction.size(0), k = prediction.size(1), h = prediction.size(2), w = prediction.size(3);
    int64_t maps = cfg_.single_jacobian_map ? 1 : k;
    Tensor jac_map = reshape(jacobian->forward(feature_map), {n, maps, 4, h, w});
    Tensor weighted = unsqueeze(sk.heatmap, 2) * jac_map;  // [N, K, 4, h, w]
    out.jacobian = reshape(sum(reshape(weighted, {n, k, 4, h * w}), {3}), {n, k, 2, 2});
  }
  return out;
}

}  // namespace anima::fomm
