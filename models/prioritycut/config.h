// A PriorityCut config: a First Order Motion Model config (models/fomm/config.h) plus the section
// prioritycut_params, which only this variant reads. Its switches (the rows of the paper's
// table 4):
//   discriminator: "global"  FOMM's multi-scale discriminator (the official behaviour; with all
//                             GAN and feature-matching weights 0 this is the baseline),
//                  "unet"    the U-Net discriminator (unet_discriminator.h);
//   mix:           "none", "prioritycut" (the occlusion-aware mask) or "cutmix" (a random box),
//                  only with the U-Net discriminator;
//   mix_probability: chance per step of the mixed-image terms (U-Net GAN's r_mix);
//   consistency_weight: weight of || D_dec(mix) - mix(D_dec(real), D_dec(fake)) ||^2;
//   warmup_epochs: epochs before the mixed-image terms start;
//   bg_threshold, k_min, k_max: the PriorityCut mask (figure 2's 10%..50% by default).
// Without the section (every official FOMM config) the defaults are plain FOMM.
#pragma once
#include <string>
#include <utility>

#include "models/fomm/config.h"

namespace anima::prioritycut {

enum class DiscriminatorKind { Global, Unet };
enum class MixKind { None, PriorityCut, CutMix };
inline constexpr std::pair<DiscriminatorKind, const char*> kDiscriminatorNames[] = {
    {DiscriminatorKind::Global, "global"}, {DiscriminatorKind::Unet, "unet"}};
inline constexpr std::pair<MixKind, const char*> kMixNames[] = {
    {MixKind::None, "none"}, {MixKind::PriorityCut, "prioritycut"}, {MixKind::CutMix, "cutmix"}};

struct PriorityCutParams {
  DiscriminatorKind discriminator = DiscriminatorKind::Global;
  MixKind mix = MixKind::None;
  float mix_probability = 0.5f, consistency_weight = 1.0f;
  int warmup_epochs = 0;
  float bg_threshold = 0.5f, k_min = 0.1f, k_max = 0.5f;
};

struct PriorityCutConfig {
  fomm::FommConfig fomm;  // its warnings include those of prioritycut_params
  PriorityCutParams params;
};

// Errors name `what` (usually the file) and the key; unknown keys are warnings, as FOMM's.
PriorityCutConfig parse_prioritycut_config(const std::string& yaml_text, const std::string& what);
PriorityCutConfig load_prioritycut_config(const std::string& path);

}  // namespace anima::prioritycut
