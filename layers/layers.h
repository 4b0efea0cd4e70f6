// The standard layers, with PyTorch's parameter names and default initialisation:
// weights kaiming_uniform(a = sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and biases
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from a Philox Generator (the same seed gives the same
// model on any device and thread count).
#pragma once
#include <memory>
#include <vector>

#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "layers/module.h"

namespace anima {

// Fills t with U(-bound, bound) from gen (on t's device).
void init_uniform(Tensor& t, float bound, Generator& gen);

class Conv2d : public UnaryModule {
 public:
  struct Options {
    int stride = 1, padding = 0, dilation = 1, groups = 1;
    bool bias = true;
  };
  Conv2d(int64_t in, int64_t out, int kernel, Options opt, Generator& gen = default_generator());
  Conv2d(int64_t in, int64_t out, int kernel, Generator& gen = default_generator())
      : Conv2d(in, out, kernel, Options{}, gen) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  Conv2dParams params() const { return p_; }

  Tensor weight, bias;

 private:
  Conv2dParams p_;
};

class Linear : public UnaryModule {
 public:
  Linear(int64_t in, int64_t out, bool bias = true, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  Tensor weight, bias;
};

class BatchNorm2d : public UnaryModule {
 public:
  BatchNorm2d(int64_t channels, double eps = 1e-5, double momentum = 0.1, bool affine = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BatchNorm2d"; }
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  double eps_, momentum_;
};

// PyTorch's default is affine = false; FOMM uses affine = true.
class InstanceNorm2d : public UnaryModule {
 public:
  explicit InstanceNorm2d(int64_t channels, bool affine = false, double eps = 1e-5);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "InstanceNorm2d"; }
  Tensor weight, bias;

 private:
  double eps_;
};

class ReLU : public UnaryModule {
 public:
  Tensor forward(const Tensor& x) override { return relu(x); }
  std::string type_name() const override { return "ReLU"; }
};

class LeakyReLU : public UnaryModule {
 public:
  explicit LeakyReLU(float slope = 0.01f) : slope_(slope) {}
  Tensor forward(const Tensor& x) override { return leaky_relu(x, slope_); }
  std::string type_name() const override { return "LeakyReLU"; }

 private:
  float slope_;
};

class Sigmoid : public UnaryModule {
 public:
  Tensor forward(const Tensor& x) override { return sigmoid(x); }
  std::string type_name() const override { return "Sigmoid"; }
};

class AvgPool2d : public UnaryModule {
 public:
  explicit AvgPool2d(int kernel, int stride = 0, int padding = 0)
      : kernel_(kernel), stride_(stride), padding_(padding) {}
  Tensor forward(const Tensor& x) override { return avg_pool2d(x, kernel_, stride_, padding_); }
  std::string type_name() const override { return "AvgPool2d"; }

 private:
  int kernel_, stride_, padding_;
};

class UpsampleNearest : public UnaryModule {
 public:
  explicit UpsampleNearest(int factor) : factor_(factor) {}
  Tensor forward(const Tensor& x) override { return upsample_nearest(x, factor_); }
  std::string type_name() const override { return "UpsampleNearest"; }

 private:
  int factor_;
};

// Children named "0", "1", ...; forward applies them in order.
class Sequential : public UnaryModule {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<UnaryModule>> layers);
  void append(std::shared_ptr<UnaryModule> layer);
  // Appends under an explicit child name (PyTorch's add_module), e.g. FOMM's bottleneck "r0".
  void append_named(const std::string& name, std::shared_ptr<UnaryModule> layer);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return layers_.size(); }
  std::string type_name() const override { return "Sequential"; }

 private:
  std::vector<std::shared_ptr<UnaryModule>> layers_;
};

// Children under names chosen by the caller (PyTorch's ModuleDict, or any plain container level
// needed to reproduce an official name such as "downs.down_0-25" or "encoder.down_blocks.0").
class ModuleDict : public Module {
 public:
  template <class M>
  std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> m) {
    return register_module(name, std::move(m));
  }
  std::string type_name() const override { return "ModuleDict"; }
};

// Children named "0", "1", ...; typed access by index.
template <class M>
class ModuleList : public Module {
 public:
  void append(std::shared_ptr<M> m) {
    register_module(std::to_string(items_.size()), m);
    items_.push_back(std::move(m));
  }
  size_t size() const { return items_.size(); }
  M& operator[](size_t i) { return *items_.at(i); }
  std::shared_ptr<M> at(size_t i) const { return items_.at(i); }
  std::string type_name() const override { return "ModuleList"; }

 private:
  std::vector<std::shared_ptr<M>> items_;
};

}  // namespace anima
