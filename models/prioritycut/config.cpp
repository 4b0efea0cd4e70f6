#include "models/prioritycut/config.h"

#include "models/common/config_section.h"
#include "tensor/file_util.h"

namespace anima::prioritycut {

PriorityCutConfig parse_prioritycut_config(const std::string& text, const std::string& what) {
  PriorityCutConfig c;
  c.fomm = fomm::parse_fomm_config(text, what);
  YAML::Node root = ConfigSection::load_root(text, what);
  {
    ConfigSection pc(root["prioritycut_params"], "prioritycut_params", c.fomm.warnings, what);
    PriorityCutParams& p = c.params;
    pc.get_choice("discriminator", p.discriminator, kDiscriminatorNames);
    pc.get_choice("mix", p.mix, kMixNames);
    pc.get("mix_probability", p.mix_probability);
    pc.get("consistency_weight", p.consistency_weight);
    pc.get("warmup_epochs", p.warmup_epochs);
    pc.get("bg_threshold", p.bg_threshold);
    pc.get("k_min", p.k_min);
    pc.get("k_max", p.k_max);
  }
  ANIMA_CHECK(c.params.mix == MixKind::None || c.params.discriminator == DiscriminatorKind::Unet, what,
              ": prioritycut_params.mix needs the unet discriminator");
  ANIMA_CHECK(c.params.mix == MixKind::None || c.fomm.train.loss_weights.generator_gan != 0, what,
              ": prioritycut_params.mix trains the discriminator, which runs only when "
              "train_params.loss_weights.generator_gan is non-zero");
  return c;
}

PriorityCutConfig load_prioritycut_config(const std::string& path) {
  return parse_prioritycut_config(read_file_bytes(path), path);
}

}  // namespace anima::prioritycut
