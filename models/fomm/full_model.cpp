#include "models/fomm/full_model.h"

#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "tensor/trace.h"

namespace anima::fomm {

FommTrainer::FommTrainer(const FommConfig& c, std::shared_ptr<Vgg19> vgg, Generator& gen, Device device,
                         const DiscriminatorFactory& make_discriminator)
    : cfg_(c),
      generator_side_(c.train.epoch_milestones, 0.1),
      discriminator_side_(c.train.epoch_milestones, 0.1),
      rng_(gen),
      device_(device) {
  kp_detector = std::make_shared<KPDetector>(c.kp_detector, gen);
  generator = std::make_shared<OcclusionAwareGenerator>(c.generator, gen);
  discriminator_ = make_discriminator_step(c, gen, make_discriminator);
  Module* disc = &discriminator_->network();
  PerceptualLossConfig pc;
  pc.scales = c.train.scales;
  pc.weights = c.train.loss_weights.perceptual;
  pc.layers.assign({"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"});
  pc.layers.resize(pc.weights.size());
  perceptual_ = std::make_shared<PerceptualLoss>(std::move(vgg), pc);
  for (Module* m : std::initializer_list<Module*>{kp_detector.get(), generator.get(), perceptual_.get()}) m->to(device);
  discriminator_->to(device);
  // Adam with betas (0.5, 0.999), as the official training script.
  generator_side_.add("optimizer_kp_detector", kp_detector->named_parameters(),
                      AdamOptions{c.train.lr_kp_detector, 0.5, 0.999});
  generator_side_.add("optimizer_generator", generator->named_parameters(),
                      AdamOptions{c.train.lr_generator, 0.5, 0.999});
  discriminator_side_.add("optimizer_discriminator", disc->named_parameters(),
                          AdamOptions{c.train.lr_discriminator, 0.5, 0.999});
}

void FommTrainer::set_epoch(int epoch) {
  epoch_ = epoch;
  generator_side_.set_epoch(epoch);
  discriminator_side_.set_epoch(epoch);
}

CheckpointParts FommTrainer::checkpoint_parts() {
  Module* disc = &discriminator_->network();
  CheckpointParts p{{{"kp_detector", kp_detector.get()}, {"generator", generator.get()}, {"discriminator", disc}},
                    generator_side_.named()};
  for (auto& named : discriminator_side_.named()) p.optimizers.push_back(named);
  return p;
}

StepOutput FommTrainer::step(const Tensor& source, const Tensor& driving) {
  ANIMA_TRACE("fomm.train_step");
  const LossWeights& w = cfg_.train.loss_weights;
  StepOutput o;
  o.kp_source = kp_detector->forward(source);
  o.kp_driving = kp_detector->forward(driving);
  o.generated = generator->forward(source, o.kp_driving, o.kp_source);
  const Tensor& prediction = o.generated.prediction;
  o.losses["perceptual"] = perceptual_->forward(prediction, driving);
  // As the official code: the GAN terms, feature matching included, and the discriminator's own
  // step exist only when generator_gan is non-zero. The FOMM configs (generator_gan 0,
  // discriminator_gan 1, feature_matching 10s) therefore train no discriminator at all.
  bool gan = w.generator_gan != 0;
  if (gan) discriminator_->add_generator_losses(driving, prediction, o.kp_driving.value.detach(), o.losses);
  if (w.equivariance_value != 0 || w.equivariance_jacobian != 0) {
    RandomTransform t(driving.size(0), cfg_.train.transform_params, rng_, device_);
    Tensor transformed_frame = t.transform_frame(driving);
    Keypoints transformed = kp_detector->forward(transformed_frame);
    if (w.equivariance_value != 0)
      o.losses["equivariance_value"] = equivariance_value_loss(o.kp_driving, transformed, t) * w.equivariance_value;
    if (w.equivariance_jacobian != 0 && transformed.jacobian.defined())
      o.losses["equivariance_jacobian"] =
          equivariance_jacobian_loss(o.kp_driving, transformed, t) * w.equivariance_jacobian;
    o.transformed_frame = transformed_frame;
    o.transformed_kp = transformed;
  }
  Tensor total = sum_terms(o.losses);
  generator_side_.zero_grad();
  total.backward();
  generator_side_.step();
  // The gradients go once applied (as the official loop zeroes them after each step), so the next
  // step's forward does not run beside them: 228 MiB less at the peak of a vox-256 step.
  generator_side_.zero_grad();
  // The generator-side pass leaves gradients on the discriminator (from feature matching and the
  // GAN term); they are discarded, as the official loop zeroes them before its own step.
  discriminator_side_.zero_grad();
  if (gan && w.discriminator_gan != 0) {
    Tensor d_total = discriminator_->discriminator_loss(driving, o, epoch_);
    d_total.backward();
    discriminator_side_.step();
    discriminator_side_.zero_grad();
    o.discriminator_loss = d_total;
  }
  return o;
}

}  // namespace anima::fomm
