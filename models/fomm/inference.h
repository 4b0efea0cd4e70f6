// Inference helpers of the First Order Motion Model: FOMM's normalize_kp for animation
// (relative movement, relative Jacobian, movement scale adapted by convex-hull areas).
#pragma once
#include "models/fomm/keypoint_detector.h"

namespace anima::fomm {

struct NormalizeOptions {
  bool adapt_movement_scale = false, use_relative_movement = true, use_relative_jacobian = true;
};

// Area of the convex hull of 2-D points (monotone chain); 0 for fewer than 3 non-collinear points.
double convex_hull_area(const std::vector<float>& xy);

// kp_source: of the source image (batch 1 or B); kp_driving: of the current driving frames;
// kp_initial: of the driving video's reference frame. Returns the keypoints to drive with.
Keypoints normalize_kp(const Keypoints& kp_source, const Keypoints& kp_driving, const Keypoints& kp_initial,
                       const NormalizeOptions& options);

}  // namespace anima::fomm
