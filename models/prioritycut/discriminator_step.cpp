#include "models/prioritycut/discriminator_step.h"

#include <algorithm>

#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "kernels/augment.h"
#include "models/prioritycut/losses.h"
#include "tensor/trace.h"

namespace anima::prioritycut {
namespace {

UNetDiscriminatorConfig unet_config(const fomm::DiscriminatorConfig& d) {
  UNetDiscriminatorConfig uc;
  uc.num_channels = d.num_channels;
  uc.block_expansion = d.block_expansion;
  uc.max_features = d.max_features;
  uc.num_blocks = d.num_blocks;
  uc.sn = d.sn;
  uc.use_kp = d.use_kp;
  uc.num_kp = d.num_kp;
  uc.kp_variance = d.kp_variance;
  return uc;
}

}  // namespace

UNetDiscriminatorStep::UNetDiscriminatorStep(const PriorityCutConfig& c, Generator& gen)
    : unet(std::make_shared<UNetDiscriminator>(unet_config(c.fomm.discriminator), gen)),
      weights_(c.fomm.train.loss_weights),
      params_(c.params),
      rng_(gen) {}

void UNetDiscriminatorStep::add_generator_losses(const Tensor& driving, const Tensor& prediction,
                                                 const Tensor& kp_driving, std::map<std::string, Tensor>& losses) {
  auto d_fake = unet->forward(prediction, kp_driving);
  if (weights_.generator_gan != 0) losses["gen_gan"] = unet_generator_loss(d_fake) * weights_.generator_gan;
  const std::vector<float>& fm = weights_.feature_matching;
  if (std::any_of(fm.begin(), fm.end(), [](float v) { return v != 0; }))
    losses["feature_matching"] =
        fomm::feature_matching_loss(unet->forward(driving, kp_driving).features, d_fake.features, fm);
}

Tensor UNetDiscriminatorStep::discriminator_loss(const Tensor& driving, fomm::StepOutput& out, int epoch) {
  ANIMA_TRACE("prioritycut.discriminator_step");
  const PriorityCutParams& pc = params_;
  Tensor fake = out.generated.prediction.detach(), kp_d = out.kp_driving.value.detach();
  auto d_real = unet->forward(driving, kp_d);
  auto d_fake = unet->forward(fake, kp_d);
  Tensor d_total = unet_discriminator_loss(d_real, d_fake) * weights_.discriminator_gan;
  out.discriminator_pixel_real = d_real.pixel.detach();
  out.discriminator_pixel_fake = d_fake.pixel.detach();
  bool mix_now = pc.mix != MixKind::None && epoch >= pc.warmup_epochs;
  if (mix_now) {  // the draw is made on the host from the run's generator: reproducible
    PhiloxWords wds = philox_group(rng_.seed(), rng_.take_stream(), 0);
    mix_now = philox_uniform01(wds.w[0]) < pc.mix_probability;
  }
  if (!mix_now) return d_total;
  int64_t n = driving.size(0), h = driving.size(2), w = driving.size(3);
  Tensor mask;
  if (pc.mix == MixKind::PriorityCut) {
    const fomm::GeneratorOutput& g = out.generated;
    Tensor bg = slice(g.motion.mask, 1, 0, 1).detach();
    ANIMA_CHECK(g.motion.occlusion_map.defined(), "PriorityCut needs the occlusion map ",
                "(generator_params.estimate_occlusion_map: True)");
    mask =
        kernels::prioritycut_mask(bg, g.motion.occlusion_map.detach(), pc.bg_threshold, pc.k_min, pc.k_max, h, w, rng_);
  } else {
    mask = kernels::cutmix_box_mask(n, h, w, rng_, driving.device());
  }
  last_mix_mask_ = mask;
  Tensor mixed = cutmix(driving, fake, mask);
  auto d_mix = unet->forward(mixed, kp_d);
  Tensor mix_target = mean(pow(d_mix.pixel - mask, 2.f)) * weights_.discriminator_gan;
  Tensor consistency = consistency_loss(d_mix.pixel, mask, d_real, d_fake) * pc.consistency_weight;
  out.losses["disc_mix"] = mix_target.detach();
  out.losses["consistency"] = consistency.detach();
  return d_total + mix_target + consistency;
}

fomm::DiscriminatorFactory discriminator_factory(const PriorityCutConfig& config) {
  if (config.params.discriminator == DiscriminatorKind::Global) return {};
  return [config](Generator& gen) -> std::unique_ptr<fomm::DiscriminatorStep> {
    return std::make_unique<UNetDiscriminatorStep>(config, gen);
  };
}

std::unique_ptr<fomm::FommTrainer> make_trainer(const PriorityCutConfig& config, std::shared_ptr<Vgg19> vgg,
                                                Generator& gen, Device device) {
  return std::make_unique<fomm::FommTrainer>(config.fomm, std::move(vgg), gen, device, discriminator_factory(config));
}

}  // namespace anima::prioritycut
