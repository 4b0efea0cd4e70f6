#include "models/fomm/discriminator_step.h"

#include <algorithm>

#include "autograd/functions.h"
#include "models/fomm/losses.h"
#include "tensor/trace.h"

namespace anima::fomm {

MultiScaleDiscriminatorStep::MultiScaleDiscriminatorStep(const FommConfig& c, Generator& gen)
    : discriminator(std::make_shared<MultiScaleDiscriminator>(c.discriminator, gen)),
      weights_(c.train.loss_weights),
      pyramid_(std::make_shared<ImagePyramid>(c.train.scales, c.generator.num_channels)) {}

void MultiScaleDiscriminatorStep::to(Device device) {
  discriminator->to(device);
  pyramid_->to(device);
}

void MultiScaleDiscriminatorStep::add_generator_losses(const Tensor& driving, const Tensor& prediction,
                                                       const Tensor& kp_driving,
                                                       std::map<std::string, Tensor>& losses) {
  auto pyr_real = pyramid_->forward(driving);
  auto pyr_gen = pyramid_->forward(prediction);
  auto maps_gen = discriminator->forward(pyr_gen, kp_driving);
  auto maps_real = discriminator->forward(pyr_real, kp_driving);
  if (weights_.generator_gan != 0) {
    Tensor total;
    for (auto& [key, m] : maps_gen) {
      Tensor t = lsgan_generator_loss(m.prediction) * weights_.generator_gan;
      total = total.defined() ? total + t : t;
    }
    losses["gen_gan"] = total;
  }
  const std::vector<float>& fm = weights_.feature_matching;
  if (std::any_of(fm.begin(), fm.end(), [](float v) { return v != 0; })) {
    Tensor total;
    for (auto& [key, m] : maps_gen) {
      Tensor t = feature_matching_loss(maps_real.at(key).features, m.features, fm);
      total = total.defined() ? total + t : t;
    }
    losses["feature_matching"] = total;
  }
}

Tensor MultiScaleDiscriminatorStep::discriminator_loss(const Tensor& driving, StepOutput& out, int) {
  ANIMA_TRACE("fomm.discriminator_step");
  auto pyr_real = pyramid_->forward(driving);
  auto pyr_gen = pyramid_->forward(out.generated.prediction.detach());
  Tensor kp_d = out.kp_driving.value.detach();
  auto maps_gen = discriminator->forward(pyr_gen, kp_d);
  auto maps_real = discriminator->forward(pyr_real, kp_d);
  Tensor total;
  for (auto& [key, m] : maps_gen) {
    Tensor t = lsgan_discriminator_loss(maps_real.at(key).prediction, m.prediction) * weights_.discriminator_gan;
    total = total.defined() ? total + t : t;
  }
  return total;
}

std::unique_ptr<DiscriminatorStep> make_discriminator_step(const FommConfig& c, Generator& gen,
                                                           const DiscriminatorFactory& factory) {
  if (factory) return factory(gen);
  return std::make_unique<MultiScaleDiscriminatorStep>(c, gen);
}

}  // namespace anima::fomm
