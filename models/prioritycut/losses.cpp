#include "models/prioritycut/losses.h"

#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "tensor/trace.h"

namespace anima::prioritycut {

Tensor unet_generator_loss(const UNetDiscriminator::Output& f) {
  ANIMA_TRACE("loss.unet_generator");
  return mean(pow(1.f - f.global, 2.f)) + mean(pow(1.f - f.pixel, 2.f));
}

Tensor unet_discriminator_loss(const UNetDiscriminator::Output& r, const UNetDiscriminator::Output& f) {
  ANIMA_TRACE("loss.unet_discriminator");
  return mean(pow(1.f - r.global, 2.f) + pow(f.global, 2.f)) + mean(pow(1.f - r.pixel, 2.f) + pow(f.pixel, 2.f));
}

Tensor consistency_loss(const Tensor& mixed_pixel, const Tensor& mask, const UNetDiscriminator::Output& d_real,
                        const UNetDiscriminator::Output& d_fake) {
  ANIMA_TRACE("loss.consistency");
  return mse_loss(mixed_pixel, cutmix(d_real.pixel, d_fake.pixel, mask));
}

}  // namespace anima::prioritycut
