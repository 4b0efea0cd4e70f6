#include "models/fomm/full_model.h"

#include <algorithm>
#include <cmath>

#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "kernels/augment.h"

namespace anima::fomm {

FommTrainer::FommTrainer(const FommConfig& c, std::shared_ptr<Vgg19> vgg, Generator& gen, Device device)
    : cfg_(c), rng_(gen), device_(device) {
  kp_detector = std::make_shared<KPDetector>(c.kp_detector, gen);
  generator = std::make_shared<OcclusionAwareGenerator>(c.generator, gen);
  if (c.prioritycut.discriminator == DiscriminatorKind::Unet) {
    prioritycut::UNetDiscriminatorConfig uc;
    uc.num_channels = c.discriminator.num_channels;
    uc.block_expansion = c.discriminator.block_expansion;
    uc.max_features = c.discriminator.max_features;
    uc.num_blocks = c.discriminator.num_blocks;
    uc.sn = c.discriminator.sn;
    uc.use_kp = c.discriminator.use_kp;
    uc.num_kp = c.discriminator.num_kp;
    uc.kp_variance = c.discriminator.kp_variance;
    unet = std::make_shared<prioritycut::UNetDiscriminator>(uc, gen);
  } else {
    discriminator = std::make_shared<MultiScaleDiscriminator>(c.discriminator, gen);
  }
  Module* disc = unet ? static_cast<Module*>(unet.get()) : discriminator.get();
  PerceptualLossConfig pc;
  pc.scales = c.train.scales;
  pc.weights = c.train.loss_weights.perceptual;
  pc.layers.assign({"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"});
  pc.layers.resize(pc.weights.size());
  perceptual_ = std::make_shared<PerceptualLoss>(std::move(vgg), pc);
  pyramid_ = std::make_shared<ImagePyramid>(c.train.scales, c.generator.num_channels);
  for (Module* m : std::initializer_list<Module*>{kp_detector.get(), generator.get(), disc, perceptual_.get(),
                                                  pyramid_.get()})
    m->to(device);
  // Adam with betas (0.5, 0.999), as the official training script.
  opt_kp = std::make_unique<Adam>(kp_detector->named_parameters(), AdamOptions{c.train.lr_kp_detector, 0.5, 0.999});
  opt_generator = std::make_unique<Adam>(generator->named_parameters(), AdamOptions{c.train.lr_generator, 0.5, 0.999});
  opt_discriminator = std::make_unique<Adam>(disc->named_parameters(), AdamOptions{c.train.lr_discriminator, 0.5, 0.999});
  sched_kp_ = std::make_unique<MultiStepLR>(*opt_kp, c.train.epoch_milestones, 0.1);
  sched_gen_ = std::make_unique<MultiStepLR>(*opt_generator, c.train.epoch_milestones, 0.1);
  sched_disc_ = std::make_unique<MultiStepLR>(*opt_discriminator, c.train.epoch_milestones, 0.1);
}

void FommTrainer::set_epoch(int epoch) {
  epoch_ = epoch;
  sched_kp_->set_epoch(epoch);
  sched_gen_->set_epoch(epoch);
  sched_disc_->set_epoch(epoch);
}

CheckpointParts FommTrainer::checkpoint_parts() {
  Module* disc = unet ? static_cast<Module*>(unet.get()) : discriminator.get();
  return {{{"kp_detector", kp_detector.get()}, {"generator", generator.get()}, {"discriminator", disc}},
          {{"optimizer_kp_detector", opt_kp.get()},
           {"optimizer_generator", opt_generator.get()},
           {"optimizer_discriminator", opt_discriminator.get()}}};
}

StepOutput FommTrainer::step(const Tensor& source, const Tensor& driving) {
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
  if (gan && unet) {
    Tensor kp_d = o.kp_driving.value.detach();
    auto d_fake = unet->forward(prediction, kp_d);
    if (w.generator_gan != 0) o.losses["gen_gan"] = prioritycut::unet_generator_loss(d_fake) * w.generator_gan;
    if (std::any_of(w.feature_matching.begin(), w.feature_matching.end(), [](float v) { return v != 0; }))
      o.losses["feature_matching"] =
          feature_matching_loss(unet->forward(driving, kp_d).features, d_fake.features, w.feature_matching);
  } else if (gan) {
    auto pyr_real = pyramid_->forward(driving);
    auto pyr_gen = pyramid_->forward(prediction);
    Tensor kp_d = o.kp_driving.value.detach();
    auto maps_gen = discriminator->forward(pyr_gen, kp_d);
    auto maps_real = discriminator->forward(pyr_real, kp_d);
    if (w.generator_gan != 0) {
      Tensor total;
      for (auto& [key, m] : maps_gen) {
        Tensor t = lsgan_generator_loss(m.prediction) * w.generator_gan;
        total = total.defined() ? total + t : t;
      }
      o.losses["gen_gan"] = total;
    }
    if (std::any_of(w.feature_matching.begin(), w.feature_matching.end(), [](float v) { return v != 0; })) {
      Tensor total;
      for (auto& [key, m] : maps_gen) {
        Tensor t = feature_matching_loss(maps_real.at(key).features, m.features, w.feature_matching);
        total = total.defined() ? total + t : t;
      }
      o.losses["feature_matching"] = total;
    }
  }
  if (w.equivariance_value != 0 || w.equivariance_jacobian != 0) {
    RandomTransform t(driving.size(0), cfg_.train.transform_params, rng_, device_);
    Tensor transformed_frame = t.transform_frame(driving);
    Keypoints transformed = kp_detector->forward(transformed_frame);
    if (w.equivariance_value != 0)
      o.losses["equivariance_value"] = equivariance_value_loss(o.kp_driving, transformed, t) * w.equivariance_value;
    if (w.equivariance_jacobian != 0 && transformed.jacobian.defined())
      o.losses["equivariance_jacobian"] = equivariance_jacobian_loss(o.kp_driving, transformed, t) * w.equivariance_jacobian;
    o.transformed_frame = transformed_frame;
    o.transformed_kp = transformed;
  }
  Tensor total;
  for (auto& [name, v] : o.losses) total = total.defined() ? total + v : v;
  opt_kp->zero_grad();
  opt_generator->zero_grad();
  total.backward();
  opt_kp->step();
  opt_generator->step();
  // The generator-side pass leaves gradients on the discriminator (from feature matching and the
  // GAN term); they are discarded, as the official loop zeroes them before its own step.
  opt_discriminator->zero_grad();
  if (gan && w.discriminator_gan != 0 && unet) {
    unet_step(driving, o, o);
  } else if (gan && w.discriminator_gan != 0) {
    auto pyr_real = pyramid_->forward(driving);
    auto pyr_gen = pyramid_->forward(prediction.detach());
    Tensor kp_d = o.kp_driving.value.detach();
    auto maps_gen = discriminator->forward(pyr_gen, kp_d);
    auto maps_real = discriminator->forward(pyr_real, kp_d);
    Tensor d_total;
    for (auto& [key, m] : maps_gen) {
      Tensor t = lsgan_discriminator_loss(maps_real.at(key).prediction, m.prediction) * w.discriminator_gan;
      d_total = d_total.defined() ? d_total + t : t;
    }
    d_total.backward();
    opt_discriminator->step();
    opt_discriminator->zero_grad();
    o.discriminator_loss = d_total;
  }
  return o;
}

// The U-Net discriminator's step: LSGAN on both heads, and with probability mix_probability (after
// the warm-up) the mixed-image terms of the U-Net GAN: the decoder must predict the mask M on
// mix(real, fake, M) (per-pixel LSGAN with target M), and the consistency regularisation.
void FommTrainer::unet_step(const Tensor& driving, const StepOutput& in, StepOutput& out) {
  const LossWeights& w = cfg_.train.loss_weights;
  const PriorityCutParams& pc = cfg_.prioritycut;
  Tensor fake = in.generated.prediction.detach(), kp_d = in.kp_driving.value.detach();
  auto d_real = unet->forward(driving, kp_d);
  auto d_fake = unet->forward(fake, kp_d);
  Tensor d_total = prioritycut::unet_discriminator_loss(d_real, d_fake) * w.discriminator_gan;
  out.unet_pixel_real = d_real.pixel.detach();
  out.unet_pixel_fake = d_fake.pixel.detach();
  bool mix_now = pc.mix != MixKind::None && epoch_ >= pc.warmup_epochs;
  if (mix_now) {  // the draw is made on the host from the run's generator: reproducible
    PhiloxWords wds = philox_group(rng_.seed(), rng_.take_stream(), 0);
    mix_now = philox_uniform01(wds.w[0]) < pc.mix_probability;
  }
  if (mix_now) {
    int64_t n = driving.size(0), h = driving.size(2), wd = driving.size(3);
    Tensor mask;
    if (pc.mix == MixKind::PriorityCut) {
      Tensor bg = slice(in.generated.motion.mask, 1, 0, 1).detach();
      ANIMA_CHECK(in.generated.motion.occlusion_map.defined(), "PriorityCut needs the occlusion map ",
                  "(generator_params.estimate_occlusion_map: True)");
      mask = kernels::prioritycut_mask(bg, in.generated.motion.occlusion_map.detach(), pc.bg_threshold, pc.k_min,
                                       pc.k_max, h, wd, rng_);
    } else {
      mask = kernels::cutmix_box_mask(n, h, wd, rng_, driving.device());
    }
    last_mix_mask = mask;
    Tensor mixed = cutmix(driving, fake, mask);
    auto d_mix = unet->forward(mixed, kp_d);
    Tensor mix_target = mean(pow(d_mix.pixel - mask, 2.f)) * w.discriminator_gan;
    Tensor consistency = prioritycut::consistency_loss(d_mix.pixel, mask, d_real, d_fake) * pc.consistency_weight;
    out.losses["disc_mix"] = mix_target.detach();
    out.losses["consistency"] = consistency.detach();
    d_total = d_total + mix_target + consistency;
  }
  d_total.backward();
  opt_discriminator->step();
  opt_discriminator->zero_grad();
  out.discriminator_loss = d_total;
}

}  // namespace anima::fomm
