// Module: a named tree of parameters, buffers and child modules, as PyTorch's nn.Module.
//
// A module registers pointers to its own Tensor members, so `weight` stays an ordinary field:
//   Conv2d(...) { register_parameter("weight", &weight); }
// Names are dotted paths built exactly as PyTorch builds them (own parameters first, then
// children in registration order; state_dict: own parameters, own buffers, then children), so
// converted PyTorch checkpoints load by name. Modules are not copyable (they hold pointers into
// themselves); share them through std::shared_ptr.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/philox.h"
#include "tensor/tensor.h"

namespace anima {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  // Parameters then buffers per module, recursively (PyTorch's state_dict order).
  NamedTensors state_dict() const;
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }

  // Copies values into the existing tensors (so optimisers keep their references). With strict,
  // missing, unexpected and mis-shaped entries are all reported, by name and shape, in one error;
  // without, matching entries load and the rest is returned as a report.
  std::string load_state_dict(const NamedTensors& state, bool strict = true);

  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Moves every parameter and buffer (replacing the tensors: create optimisers afterwards).
  void to(Device device);
  void zero_grad();
  int64_t parameter_count() const;
  // One line per parameter and buffer: name, shape, dtype; then the total parameter count.
  std::string summary() const;
  virtual std::string type_name() const { return "Module"; }

 protected:
  void register_parameter(const std::string& name, Tensor* t);
  void register_buffer(const std::string& name, Tensor* t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void check_new_name(const std::string& name) const;
  template <class Visit>
  void visit(const std::string& prefix, bool params, bool buffers, Visit&& f) const;

  std::vector<std::pair<std::string, Tensor*>> params_;
  std::vector<std::pair<std::string, Tensor*>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// A module with a single-tensor forward (layers that chain in a Sequential).
class UnaryModule : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
};

}  // namespace anima
