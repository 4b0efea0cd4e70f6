// The element body of torch.optim.Adam's update (one parameter element), and its launch over a
// whole parameter tensor on the tensor's device. layers/optim.h's Adam keeps the state and the
// step count and calls this once per parameter tensor.
#pragma once
#include <cmath>

#include "tensor/hd.h"
#include "tensor/tensor.h"

namespace anima::kernels {

// In PyTorch's order of operations; step_size = lr / (1 - beta1^t), bias_correction2_sqrt =
// sqrt(1 - beta2^t), computed by the caller in double and rounded to float.
struct AdamStep {
  float beta1, beta2, eps, weight_decay, step_size, bias_correction2_sqrt;
  ANIMA_HD void operator()(float& p, float g, float& m, float& v) const {
    if (weight_decay != 0.f) g = g + weight_decay * p;
    m = m * beta1 + (1.f - beta1) * g;
    v = v * beta2 + (1.f - beta2) * (g * g);
    float denom = ::sqrtf(v) / bias_correction2_sqrt + eps;
    p = p - step_size * (m / denom);
  }
};

// p, m, v updated in place from g (all float32, the same shape, on one device).
void adam_update(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, AdamStep s);

}  // namespace anima::kernels
