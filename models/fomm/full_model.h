// One training step of the First Order Motion Model, as the official GeneratorFullModel and
// DiscriminatorFullModel: keypoints of source and driving, the generated frame, and the loss
// terms with the config's weights (perceptual pyramid, generator GAN, feature matching,
// equivariance value and Jacobian; and the discriminator's GAN loss). Each term is kept
// separately for logging.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "layers/checkpoint.h"
#include "layers/optim.h"
#include "layers/vgg.h"
#include "models/fomm/config.h"
#include "models/fomm/losses.h"
#include "models/prioritycut/losses.h"

namespace anima::fomm {

struct StepOutput {
  std::map<std::string, Tensor> losses;  // generator-side terms (scalars on the device)
  Tensor discriminator_loss;             // undefined when the GAN is off
  Keypoints kp_source, kp_driving;
  GeneratorOutput generated;
  // For the visualisation: references to tensors the step computes anyway (no copies, no syncs).
  Tensor transformed_frame;  // the equivariance transform of the driving frame (undefined when its terms are off)
  Keypoints transformed_kp;  // and its keypoints
  Tensor unet_pixel_real, unet_pixel_fake;  // the U-Net discriminator's per-pixel maps [N, 1, H, W] on the
                                            // driving frame and the prediction (unet variants, detached)
};

class FommTrainer {
 public:
  // vgg: a loaded or random VGG-19 (shared so several trainers can use one).
  FommTrainer(const FommConfig& config, std::shared_ptr<Vgg19> vgg, Generator& gen, Device device = Device::cpu());

  // Forward, backward and the optimiser steps for one batch (source, driving: [B, 3, H, W]).
  StepOutput step(const Tensor& source, const Tensor& driving);
  // The epoch of the next steps: learning rates (MultiStepLR at the config's milestones) and the
  // mixed-image warm-up.
  void set_epoch(int epoch);

  std::shared_ptr<KPDetector> kp_detector;
  std::shared_ptr<OcclusionAwareGenerator> generator;
  std::shared_ptr<MultiScaleDiscriminator> discriminator;   // prioritycut_params.discriminator = global
  std::shared_ptr<prioritycut::UNetDiscriminator> unet;     // = unet (registered as "discriminator")
  Tensor last_mix_mask;  // the last PriorityCut/CutMix mask, for visualisation
  std::unique_ptr<Adam> opt_kp, opt_generator, opt_discriminator;
  CheckpointParts checkpoint_parts();
  Generator& rng() { return rng_; }

 private:
  FommConfig cfg_;
  std::shared_ptr<PerceptualLoss> perceptual_;
  std::shared_ptr<ImagePyramid> pyramid_;
  std::unique_ptr<MultiStepLR> sched_kp_, sched_gen_, sched_disc_;
  Generator& rng_;
  Device device_;
  int epoch_ = 0;
  void unet_step(const Tensor& driving, const StepOutput& o, StepOutput& out_losses);
};

}  // namespace anima::fomm
