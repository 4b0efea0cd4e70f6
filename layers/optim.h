// Optimisers and learning-rate schedules.
//
// Adam follows torch.optim.Adam (L2 weight decay added to the gradient, bias corrections, eps
// added after the bias-corrected square root), one fused kernel per parameter tensor that
// updates the parameter and both moment estimates in a single pass.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/module.h"

namespace anima {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
};

class Adam {
 public:
  Adam(NamedTensors params, AdamOptions options);
  // One update of every parameter that has a gradient (parameters without one are skipped, as
  // PyTorch does). When none has one, nothing happens and the step count stays.
  void step();
  void zero_grad();
  double lr() const { return opt_.lr; }
  void set_lr(double lr) { opt_.lr = lr; }
  int64_t steps() const { return step_; }
  const AdamOptions& options() const { return opt_; }

  // State for checkpoints: "<param>.exp_avg", "<param>.exp_avg_sq", and "step" (int64 scalar).
  NamedTensors state_dict() const;
  void load_state_dict(const NamedTensors& state);

 private:
  struct Slot {
    std::string name;
    Tensor param, exp_avg, exp_avg_sq;
  };
  std::vector<Slot> slots_;
  AdamOptions opt_;
  int64_t step_ = 0;
};

// lr = base_lr * gamma^(number of milestones <= epoch), as torch's MultiStepLR stepped per epoch.
class MultiStepLR {
 public:
  MultiStepLR(Adam& opt, std::vector<int> milestones, double gamma = 0.1);
  // Sets the learning rate for `epoch` (0-based).
  void set_epoch(int epoch);
  double lr_at(int epoch) const;

 private:
  Adam& opt_;
  std::vector<int> milestones_;
  double gamma_, base_lr_;
};

// The optimisers a trainer steps together: named Adam optimisers, each with a MultiStepLR at the
// same milestones and gamma. The names are the checkpoint's ("optimizer_generator").
class OptimizerGroup {
 public:
  OptimizerGroup(std::vector<int> milestones, double gamma = 0.1);
  Adam& add(const std::string& name, NamedTensors params, AdamOptions options);
  Adam& operator[](const std::string& name) const;  // an error naming the group's optimisers if absent
  // zero_grad and step: every optimiser, in the order they were added.
  void zero_grad();
  void step();
  void set_epoch(int epoch);
  // {name, optimiser} in the order added, for CheckpointParts::optimizers.
  std::vector<std::pair<std::string, Adam*>> named() const;

 private:
  struct Entry {
    std::string name;
    std::unique_ptr<Adam> adam;
    std::unique_ptr<MultiStepLR> schedule;
  };
  std::vector<int> milestones_;
  double gamma_;
  std::vector<Entry> entries_;
};

}  // namespace anima
