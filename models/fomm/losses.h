// The First Order Motion Model's loss terms (besides the perceptual pyramid, layers/vgg.h).
#pragma once
#include <vector>

#include "models/fomm/discriminator.h"
#include "models/fomm/keypoint_detector.h"
#include "models/fomm/transform.h"

namespace anima::fomm {

// LSGAN: generator mean((1 - D(fake))^2); discriminator mean((1 - D(real))^2 + D(fake)^2).
Tensor lsgan_generator_loss(const Tensor& fake_prediction);
Tensor lsgan_discriminator_loss(const Tensor& real_prediction, const Tensor& fake_prediction);
// Feature matching: sum_i weights[i] * mean|real_i - fake_i| (real features without gradient).
Tensor feature_matching_loss(const std::vector<Tensor>& real, const std::vector<Tensor>& fake,
                             const std::vector<float>& weights);

// Equivariance (FOMM section 3.3): keypoints of the driving frame vs. the warped keypoints of its
// randomly transformed copy, and the same for the Jacobians: mean|I - J_D^{-1} (dT J_T)|.
Tensor equivariance_value_loss(const Keypoints& driving, const Keypoints& transformed, const RandomTransform& t);
Tensor equivariance_jacobian_loss(const Keypoints& driving, const Keypoints& transformed, const RandomTransform& t);

}  // namespace anima::fomm
