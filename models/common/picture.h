// Pictures of a model's inputs and outputs, shared by the models' visualisations: panels at a
// common size, keypoint colours and keypoint discs.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace anima {

// One panel of a picture: [1, C, h, w] float in [0, 1] on any device -> uint8 [H, W, 3] (nearest
// resize to H x W, as the official visualiser's F.interpolate; one channel becomes grey).
Tensor image_panel(const Tensor& x, int64_t H, int64_t W);

// The colour of keypoint i of k (a rainbow, as matplotlib's gist_rainbow): RGB in [0, 1].
std::array<float, 3> keypoint_colour(size_t i, size_t k);

// Draws keypoints (x, y in [-1, 1]) as filled discs in their colours, in place.
void draw_keypoints(Tensor& image, const std::vector<float>& xy, int radius);

}  // namespace anima
