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
#include "models/fomm/full_model.h"

namespace anima::fomm {

// An RGB uint8 image [H, W, 3] of the step's inputs and outputs.
Tensor visualize_step(const Tensor& source, const Tensor& driving, const StepOutput& out,
                      const Tensor& mix_mask = Tensor());

}  // namespace anima::fomm
