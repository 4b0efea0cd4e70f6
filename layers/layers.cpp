#include "layers/layers.h"

#include <cmath>

#include "autograd/functions.h"
#include "kernels/elementwise.h"
#include "kernels/random.h"

namespace anima {

void init_uniform(Tensor& t, float bound, Generator& gen) {
  kernels::uniform_(t, -bound, bound, gen.seed(), gen.take_stream());
}

Conv2d::Conv2d(int64_t in, int64_t out, int kernel, Options o, Generator& gen)
    : p_{o.stride, o.stride, o.padding, o.padding, o.dilation, o.dilation, o.groups} {
  ANIMA_CHECK(in > 0 && out > 0 && kernel > 0 && o.groups > 0 && in % o.groups == 0 && out % o.groups == 0,
              "Conv2d: invalid sizes in=", in, " out=", out, " kernel=", kernel, " groups=", o.groups);
  weight = Tensor::empty(Shape{out, in / o.groups, kernel, kernel});
  float bound = 1.f / std::sqrt(float(in / o.groups * kernel * kernel));
  init_uniform(weight, bound, gen);
  register_parameter("weight", &weight);
  if (o.bias) {
    bias = Tensor::empty(Shape{out});
    init_uniform(bias, bound, gen);
    register_parameter("bias", &bias);
  }
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, p_); }

Linear::Linear(int64_t in, int64_t out, bool with_bias, Generator& gen) {
  ANIMA_CHECK(in > 0 && out > 0, "Linear: invalid sizes in=", in, " out=", out);
  weight = Tensor::empty(Shape{out, in});
  float bound = 1.f / std::sqrt(float(in));
  init_uniform(weight, bound, gen);
  register_parameter("weight", &weight);
  if (with_bias) {
    bias = Tensor::empty(Shape{out});
    init_uniform(bias, bound, gen);
    register_parameter("bias", &bias);
  }
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

BatchNorm2d::BatchNorm2d(int64_t c, double eps, double momentum, bool affine) : eps_(eps), momentum_(momentum) {
  if (affine) {
    weight = Tensor::ones(Shape{c});
    bias = Tensor::zeros(Shape{c});
    register_parameter("weight", &weight);
    register_parameter("bias", &bias);
  }
  running_mean = Tensor::zeros(Shape{c});
  running_var = Tensor::ones(Shape{c});
  num_batches_tracked = Tensor::zeros(Shape{}, DType::I64);
  register_buffer("running_mean", &running_mean);
  register_buffer("running_var", &running_var);
  register_buffer("num_batches_tracked", &num_batches_tracked);
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  if (is_training()) kernels::add_scalar_(num_batches_tracked, 1);  // on the device, no sync
  return batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum_, eps_);
}

InstanceNorm2d::InstanceNorm2d(int64_t c, bool affine, double eps) : eps_(eps) {
  if (affine) {
    weight = Tensor::ones(Shape{c});
    bias = Tensor::zeros(Shape{c});
    register_parameter("weight", &weight);
    register_parameter("bias", &bias);
  }
}

Tensor InstanceNorm2d::forward(const Tensor& x) { return instance_norm(x, weight, bias, eps_); }

Sequential::Sequential(std::vector<std::shared_ptr<UnaryModule>> layers) {
  for (auto& l : layers) append(std::move(l));
}

void Sequential::append(std::shared_ptr<UnaryModule> layer) {
  append_named(std::to_string(layers_.size()), std::move(layer));
}

void Sequential::append_named(const std::string& name, std::shared_ptr<UnaryModule> layer) {
  register_module(name, layer);
  layers_.push_back(std::move(layer));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& l : layers_) y = l->forward(y);
  return y;
}

}  // namespace anima
