// Training visualisations: one PNG per epoch in <run>/vis/, one row per sample (up to 4), every
// panel at the frame size, the columns of the official FOMM Visualizer:
//   source + keypoints | transformed frame + its keypoints (the equivariance transform of the
//   driving frame; when those terms are on) | driving + keypoints | deformed source | prediction |
//   occlusion map (when estimated) | for each of the K+1 sparse motions (background first): the
//   source deformed by it, and its mask (grey for the background, keypoint k's colour for k) |
//   all masks in their colours summed |
// and for the PriorityCut variants: the last PriorityCut/CutMix mask (when mixing has run) and the
// U-Net discriminator's per-pixel maps on the driving frame and on the prediction.
#pragma once
#include <array>
#include <string>

#include "models/fomm/full_model.h"

namespace anima::tools {

// An RGB uint8 image [H, W, 3] of the step's inputs and outputs.
Tensor visualize_step(const Tensor& source, const Tensor& driving, const fomm::StepOutput& out,
                      const Tensor& mix_mask = Tensor());

// One panel of a picture: [1, C, h, w] float in [0, 1] on any device -> uint8 [H, W, 3] (nearest
// resize to H x W, as the official visualiser's F.interpolate; one channel becomes grey).
Tensor image_panel(const Tensor& x, int64_t H, int64_t W);

// The colour of keypoint i of k (a rainbow, as matplotlib's gist_rainbow): RGB in [0, 1].
std::array<float, 3> keypoint_colour(size_t i, size_t k);

// Draws keypoints (x, y in [-1, 1]) as filled discs in their colours, in place.
void draw_keypoints(Tensor& image, const std::vector<float>& xy, int radius);

}  // namespace anima::tools
