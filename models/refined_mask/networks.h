// The four networks of the refined-masking model (section 3 and appendix A), with the module
// names of the authors' released code so that its checkpoints map by name:
//   MaskGenerator m          predictor (encoder-decoder, no skips), ref (conv7x7 -> 1), down
//   RefinedMaskGenerator     holds l, r and h, as the code's Generator:
//     l  first (conv7x7-BN-ReLU), bottleneck.r0.. (residual blocks), up_blocks.i, final (conv7x7)
//     r  mask_fix_net (encoder-decoder, no skips), ref (conv7x7 -> 1)
//     h  hourglass (U-Net encoder-decoder), final_hourglass (conv7x7 -> 3)
// (The code's Generator also builds `down_blocks` that its forward never uses; they are left out.)
// m and r get skip connections only where their config asks (MaskNetParams::skip_connections).
// Every output goes through a sigmoid: masks in [0, 1], images in [0, 1].
#pragma once
#include <memory>
#include <string>

#include "layers/anti_alias.h"
#include "layers/blocks.h"
#include "models/refined_mask/config.h"

namespace anima::refined_mask {

// m: image [N, 3, H, W] -> mask [N, 1, H * mask_scale, W * mask_scale].
class MaskGenerator : public Module {
 public:
  MaskGenerator(const ModelParams& params, Generator& gen);
  Tensor forward(const Tensor& image);
  std::string type_name() const override { return "MaskGenerator"; }

  std::shared_ptr<Hourglass> predictor;
  std::shared_ptr<Conv2d> ref;
  std::shared_ptr<AntiAliasInterpolation2d> down;  // null when mask_scale is 1

 private:
  float temperature_;
  int pad_;
};

class RefinedMaskGenerator : public Module {
 public:
  RefinedMaskGenerator(const ModelParams& params, Generator& gen);

  // r (equation 2): [D(s), m_s, P(m(d))] at mask resolution -> refined driving mask m_d.
  Tensor refine(const Tensor& source_small, const Tensor& source_mask, const Tensor& perturbed_mask);
  // l (equation 3): [D(s), m_s, m_d] at mask resolution -> coarse frame c at frame resolution.
  Tensor low_res(const Tensor& source_small, const Tensor& source_mask, const Tensor& driving_mask);
  // h (equation 4): [s, U(m_s), c, U(m_d)] (the code's channel order) -> final frame f.
  Tensor high_res(const Tensor& source, const Tensor& source_mask_up, const Tensor& coarse,
                  const Tensor& driving_mask_up);

  // The parameter-name prefixes of each network, e.g. for gradient-routing checks.
  static std::vector<std::string> prefixes(char network);  // 'l', 'r' or 'h'
  std::string type_name() const override { return "RefinedMaskGenerator"; }

  std::shared_ptr<SameBlock2d> first;
  std::shared_ptr<ModuleList<UpBlock2d>> up_blocks;
  std::shared_ptr<Sequential> bottleneck;
  std::shared_ptr<Conv2d> final;
  std::shared_ptr<Hourglass> hourglass;
  std::shared_ptr<Hourglass> mask_fix_net;
  std::shared_ptr<Conv2d> ref;
  std::shared_ptr<Conv2d> final_hourglass;

 private:
  float refinement_temperature_;
};

}  // namespace anima::refined_mask
