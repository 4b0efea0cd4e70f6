// Keypoint geometry of the First Order Motion Model, as differentiable compositions of the basic
// ops: coordinate grids, keypoints <-> Gaussian heatmaps, and batched 2x2 matrices (Jacobians).
#pragma once
#include "tensor/tensor.h"

namespace anima::fomm {

// FOMM's make_coordinate_grid: [H, W, 2] holding (x, y) in [-1, 1], x along the width.
Tensor make_coordinate_grid(int64_t h, int64_t w, Device device = Device::cpu());

// kp2gaussian: keypoints [N, K, 2] -> heatmaps [N, K, H, W],
// exp(-0.5 * |grid - kp|^2 / variance).
Tensor kp2gaussian(const Tensor& kp, int64_t h, int64_t w, float variance);

// FOMM's heatmap-to-keypoint step: softmax over H*W of (prediction / temperature), then the
// heatmap-weighted mean of the coordinate grid. prediction [N, K, H, W] -> (keypoints [N, K, 2],
// heatmap [N, K, H, W]).
struct SpatialKeypoints {
  Tensor value, heatmap;
};
SpatialKeypoints heatmap_to_keypoints(const Tensor& prediction, float temperature);

// Batched 2x2 matrices [..., 2, 2].
Tensor matmul2x2(const Tensor& a, const Tensor& b);
Tensor det2x2(const Tensor& m);      // [...]
Tensor inverse2x2(const Tensor& m);  // [..., 2, 2]; throws nothing, yields inf/nan where det = 0

}  // namespace anima::fomm
