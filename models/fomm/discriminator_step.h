// The discriminator side of FOMM's training step, behind one small interface, so that a variant
// that sits on top of FOMM plugs in without FOMM knowing it (models/prioritycut/: the U-Net
// discriminator with CutMix / PriorityCut mixing). FOMM's own implementation is the official
// multi-scale discriminator on the image pyramid, with LSGAN and feature matching.
//
// The trainer (full_model.h) asks for the generator-side terms during the generator's pass, and,
// after the generator's optimiser step, for the discriminator's loss on the detached prediction;
// it runs that loss's backward pass and the discriminator's optimiser itself.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "layers/anti_alias.h"
#include "models/fomm/config.h"
#include "models/fomm/discriminator.h"
#include "models/fomm/generator.h"
#include "models/fomm/keypoint_detector.h"

namespace anima::fomm {

struct StepOutput {
  std::map<std::string, Tensor> losses;  // generator-side terms (scalars on the device)
  Tensor discriminator_loss;             // undefined when the GAN is off
  Keypoints kp_source, kp_driving;
  GeneratorOutput generated;
  // For the visualisation: references to tensors the step computes anyway (no copies, no syncs).
  Tensor transformed_frame;  // the equivariance transform of the driving frame (undefined when its terms are off)
  Keypoints transformed_kp;  // and its keypoints
  // A discriminator's per-pixel maps [N, 1, H, W] on the driving frame and the prediction, where
  // it has them (the U-Net discriminator; detached)
  Tensor discriminator_pixel_real, discriminator_pixel_fake;
};

class DiscriminatorStep {
 public:
  virtual ~DiscriminatorStep() = default;
  // The network, saved in checkpoints as "discriminator".
  virtual Module& network() = 0;
  virtual void to(Device device) = 0;
  // Adds the weighted generator-side terms "gen_gan" and "feature_matching" (those with non-zero
  // weights) for `prediction` against `driving`; kp_driving is detached.
  virtual void add_generator_losses(const Tensor& driving, const Tensor& prediction, const Tensor& kp_driving,
                                    std::map<std::string, Tensor>& losses) = 0;
  // The discriminator's total loss for this step (on out.generated.prediction, detached); it may
  // add logged terms to out.losses and fill out's visualisation maps. `epoch` is the trainer's.
  virtual Tensor discriminator_loss(const Tensor& driving, StepOutput& out, int epoch) = 0;
  // The last mixing mask (CutMix / PriorityCut), for the visualisation; undefined when none.
  virtual Tensor last_mix_mask() const { return Tensor(); }
};

// Makes the discriminator step of a trainer, drawing its initial weights from `gen` (called by
// the trainer after the keypoint detector and the generator, so the draws keep their order).
using DiscriminatorFactory = std::function<std::unique_ptr<DiscriminatorStep>(Generator& gen)>;

// `factory`'s step, or FOMM's MultiScaleDiscriminatorStep when `factory` is empty.
std::unique_ptr<DiscriminatorStep> make_discriminator_step(const FommConfig& config, Generator& gen,
                                                           const DiscriminatorFactory& factory);

// FOMM's own: MultiScaleDiscriminator on the image pyramid of train_params.scales.
class MultiScaleDiscriminatorStep : public DiscriminatorStep {
 public:
  MultiScaleDiscriminatorStep(const FommConfig& config, Generator& gen);
  Module& network() override { return *discriminator; }
  void to(Device device) override;
  void add_generator_losses(const Tensor& driving, const Tensor& prediction, const Tensor& kp_driving,
                            std::map<std::string, Tensor>& losses) override;
  Tensor discriminator_loss(const Tensor& driving, StepOutput& out, int epoch) override;

  std::shared_ptr<MultiScaleDiscriminator> discriminator;

 private:
  LossWeights weights_;
  std::shared_ptr<ImagePyramid> pyramid_;
};

}  // namespace anima::fomm
