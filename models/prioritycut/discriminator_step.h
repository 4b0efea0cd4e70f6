// PriorityCut's discriminator side of the FOMM training step (fomm/discriminator_step.h): the
// U-Net discriminator with LSGAN on both heads, and, with probability mix_probability after the
// warm-up, the mixed-image terms of the U-Net GAN: the decoder must predict the mask M on
// mix(real, fake, M) (per-pixel LSGAN with target M), plus the consistency regularisation. M is
// the PriorityCut mask (the occlusion-aware top-k% of the generator's occlusion) or a CutMix box.
#pragma once
#include <memory>

#include "models/fomm/discriminator_step.h"
#include "models/fomm/full_model.h"
#include "models/prioritycut/config.h"
#include "models/prioritycut/unet_discriminator.h"

namespace anima::prioritycut {

class UNetDiscriminatorStep : public fomm::DiscriminatorStep {
 public:
  // The draws of the mixing (whether to mix, the masks) come from `gen`, the run's generator.
  UNetDiscriminatorStep(const PriorityCutConfig& config, Generator& gen);
  Module& network() override { return *unet; }
  void to(Device device) override { unet->to(device); }
  void add_generator_losses(const Tensor& driving, const Tensor& prediction, const Tensor& kp_driving,
                            std::map<std::string, Tensor>& losses) override;
  Tensor discriminator_loss(const Tensor& driving, fomm::StepOutput& out, int epoch) override;
  Tensor last_mix_mask() const override { return last_mix_mask_; }

  std::shared_ptr<UNetDiscriminator> unet;

 private:
  fomm::LossWeights weights_;
  PriorityCutParams params_;
  Generator& rng_;
  Tensor last_mix_mask_;
};

// The discriminator side a PriorityCut config asks for: the U-Net step for discriminator: unet,
// FOMM's own (an empty factory) for global.
fomm::DiscriminatorFactory discriminator_factory(const PriorityCutConfig& config);

// FOMM's trainer with that discriminator side.
std::unique_ptr<fomm::FommTrainer> make_trainer(const PriorityCutConfig& config, std::shared_ptr<Vgg19> vgg,
                                                Generator& gen, Device device = Device::cpu());

}  // namespace anima::prioritycut
