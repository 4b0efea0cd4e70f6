// The refined-masking model's pictures: the row of the paper's figure 3,
//   s | m_s | d | m(d) | P_test(m(d)) | m_d | c | f     (with the chosen ablation)
// per animated frame, and the per-epoch training picture: that row for up to 4 samples of a
// batch, each animated (test-time pipeline, eval mode, no gradient) with the driving frame of the
// next sample (another video).
#pragma once
#include "models/refined_mask/model.h"

namespace anima::refined_mask {

// Frame k of an animation of `source` ([1, 3, H, W], or one per frame) by `driving` ([B, 3, H, W])
// as figure 3's row: uint8 [H, 8 W, 3].
Tensor figure_row(const Tensor& source, const Tensor& driving, const Animation& a, int64_t k);

Tensor visualize_refined_mask(RefinedMaskModel& model, const Tensor& source, const Tensor& driving,
                              Ablation ablation = Ablation::Full);

}  // namespace anima::refined_mask
