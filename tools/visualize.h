// Training visualisations: one PNG per epoch in <run>/vis/, one row per sample (up to 4) with
// source + keypoints | driving + keypoints | deformed source | prediction | occlusion map |
// background mask | PriorityCut/CutMix mask (when mixing is on), every panel at the frame size.
#pragma once
#include <string>

#include "models/fomm/full_model.h"

namespace anima::tools {

// An RGB uint8 image [H, W, 3] of the step's inputs and outputs.
Tensor visualize_step(const Tensor& source, const Tensor& driving, const fomm::StepOutput& out,
                      const Tensor& mix_mask = Tensor());

// One panel of a picture: [1, C, h, w] float in [0, 1] on any device -> uint8 [H, W, 3] (nearest
// resize to H x W; one channel becomes grey).
Tensor image_panel(const Tensor& x, int64_t H, int64_t W);

// Draws keypoints (x, y in [-1, 1]) as filled discs in a rainbow of colours, in place.
void draw_keypoints(Tensor& image, const std::vector<float>& xy, int radius);

}  // namespace anima::tools
