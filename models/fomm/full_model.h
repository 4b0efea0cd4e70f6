// One training step of the First Order Motion Model, as the official GeneratorFullModel and
// DiscriminatorFullModel: keypoints of source and driving, the generated frame, and the loss
// terms with the config's weights (perceptual pyramid, generator GAN, feature matching,
// equivariance value and Jacobian; and the discriminator's GAN loss). Each term is kept
// separately for logging. The discriminator side is a DiscriminatorStep (discriminator_step.h):
// FOMM's multi-scale one unless the caller gives another (PriorityCut's, models/prioritycut/).
#pragma once
#include <map>
#include <memory>
#include <string>

#include "layers/checkpoint.h"
#include "layers/optim.h"
#include "layers/vgg.h"
#include "models/fomm/config.h"
#include "models/fomm/discriminator_step.h"
#include "models/fomm/losses.h"

namespace anima::fomm {

class FommTrainer {
 public:
  // vgg: a loaded or random VGG-19 (shared so several trainers can use one). make_discriminator:
  // the discriminator side (empty: FOMM's MultiScaleDiscriminatorStep).
  FommTrainer(const FommConfig& config, std::shared_ptr<Vgg19> vgg, Generator& gen, Device device = Device::cpu(),
              const DiscriminatorFactory& make_discriminator = {});

  // Forward, backward and the optimiser steps for one batch (source, driving: [B, 3, H, W]).
  StepOutput step(const Tensor& source, const Tensor& driving);
  // The epoch of the next steps: learning rates (MultiStepLR at the config's milestones) and what
  // the discriminator step does by epoch (PriorityCut's mixing warm-up).
  void set_epoch(int epoch);

  std::shared_ptr<KPDetector> kp_detector;
  std::shared_ptr<OcclusionAwareGenerator> generator;
  DiscriminatorStep& discriminator() { return *discriminator_; }
  Tensor last_mix_mask() const { return discriminator_->last_mix_mask(); }
  CheckpointParts checkpoint_parts();
  Generator& rng() { return rng_; }

 private:
  FommConfig cfg_;
  std::unique_ptr<DiscriminatorStep> discriminator_;
  std::shared_ptr<PerceptualLoss> perceptual_;
  // optimizer_kp_detector and optimizer_generator, stepped together; optimizer_discriminator
  OptimizerGroup generator_side_, discriminator_side_;
  Generator& rng_;
  Device device_;
  int epoch_ = 0;
};

}  // namespace anima::fomm
