// FOMM's random transformation for the equivariance constraints: an affine map (identity plus
// N(0, sigma_affine) noise) plus a thin-plate-spline-like term on a points_tps x points_tps grid
// of control points with N(0, sigma_tps) weights. As in the official code the radial term uses
// the L1 distance d = |x - cx| + |y - cy|, U(d) = d^2 log(d + 1e-6), and adds the same scalar to
// both output coordinates. The Jacobian of the warp is computed analytically (no double
// backward), and is differentiable in the coordinates.
#pragma once
#include "tensor/philox.h"
#include "tensor/tensor.h"

namespace anima::fomm {

struct TransformParams {
  float sigma_affine = 0.05f, sigma_tps = 0.005f;
  int points_tps = 5;  // 0: affine only
};

class RandomTransform {
 public:
  RandomTransform(int64_t batch, const TransformParams& params, Generator& gen, Device device = Device::cpu());
  // coordinates [N, P, 2] -> warped [N, P, 2]
  Tensor warp_coordinates(const Tensor& coordinates) const;
  // d warp / d coordinates: [N, P, 2, 2] (row = output coordinate)
  Tensor jacobian(const Tensor& coordinates) const;
  // The frame resampled through the warp of its own coordinate grid (reflection padding).
  Tensor transform_frame(const Tensor& frame, bool align_corners = false) const;

  Tensor theta;           // [N, 2, 3]
  Tensor control_points;  // [T, 2]
  Tensor control_params;  // [N, 1, T]
};

}  // namespace anima::fomm
