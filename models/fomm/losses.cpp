#include "models/fomm/losses.h"

#include "autograd/functions.h"
#include "kernels/elementwise.h"
#include "models/fomm/geometry.h"
#include "tensor/trace.h"

namespace anima::fomm {

Tensor lsgan_generator_loss(const Tensor& fake) {
  ANIMA_TRACE("loss.lsgan_generator");
  return mean(pow(1.f - fake, 2.f));
}

Tensor lsgan_discriminator_loss(const Tensor& real, const Tensor& fake) {
  ANIMA_TRACE("loss.lsgan_discriminator");
  return mean(pow(1.f - real, 2.f) + pow(fake, 2.f));
}

Tensor feature_matching_loss(const std::vector<Tensor>& real, const std::vector<Tensor>& fake,
                             const std::vector<float>& weights) {
  ANIMA_TRACE("loss.feature_matching");
  ANIMA_CHECK(real.size() == fake.size() && weights.size() == real.size(), "feature_matching_loss: ", real.size(),
              " real and ", fake.size(), " fake feature maps, ", weights.size(), " weights");
  Tensor total;
  for (size_t i = 0; i < real.size(); ++i) {
    if (weights[i] == 0) continue;
    Tensor term = mean_abs_diff(real[i].detach(), fake[i]) * weights[i];
    total = total.defined() ? total + term : term;
  }
  return total.defined() ? total
                         : kernels::full(Shape{}, 0.0, DType::F32, real.empty() ? Device::cpu() : real[0].device());
}

Tensor equivariance_value_loss(const Keypoints& driving, const Keypoints& transformed, const RandomTransform& t) {
  ANIMA_TRACE("loss.equivariance_value");
  return mean_abs_diff(driving.value, t.warp_coordinates(transformed.value));
}

Tensor equivariance_jacobian_loss(const Keypoints& driving, const Keypoints& transformed, const RandomTransform& t) {
  ANIMA_TRACE("loss.equivariance_jacobian");
  Tensor jt = matmul2x2(t.jacobian(transformed.value), transformed.jacobian);
  Tensor value = matmul2x2(inverse2x2(driving.jacobian), jt);
  Tensor eye = raw::view(kernels::eye(2, 2, value.device()), Shape{1, 1, 2, 2});  // built on the device: no sync
  return mean(abs(eye - value));
}

}  // namespace anima::fomm
