// The refined-masking model's per-epoch picture: the row of the paper's figure 3 for up to 4
// samples of a batch, each animated (test-time pipeline, eval mode, no gradient) with the driving
// frame of the next sample (another video):
//   s | m_s | d | m(d) | P_test(m(d)) | m_d | c | f     (with the chosen ablation)
#pragma once
#include "models/refined_mask/model.h"

namespace anima::tools {

Tensor visualize_refined_mask(refined_mask::RefinedMaskModel& model, const Tensor& source, const Tensor& driving,
                              refined_mask::Ablation ablation = refined_mask::Ablation::Full);

}  // namespace anima::tools
