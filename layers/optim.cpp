#include <cmath>

#include "kernels/adam.h"
#include "kernels/elementwise.h"
#include "layers/optim.h"
#include "tensor/trace.h"

namespace anima {

Adam::Adam(NamedTensors params, AdamOptions options) : opt_(options) {
  ANIMA_CHECK(options.lr >= 0 && options.eps >= 0 && options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 &&
                  options.beta2 < 1 && options.weight_decay >= 0,
              "Adam: invalid options (lr ", options.lr, ", betas ", options.beta1, ", ", options.beta2, ", eps ",
              options.eps, ", weight_decay ", options.weight_decay, ")");
  for (auto& [name, p] : params) {
    ANIMA_CHECK(p.requires_grad() && p.is_leaf(), "Adam: '", name, "' is not a leaf parameter");
    slots_.push_back({name, p, kernels::full(p.shape(), 0.0, DType::F32, p.device()),
                      kernels::full(p.shape(), 0.0, DType::F32, p.device())});
  }
}

void Adam::step() {
  // A step where no parameter has a gradient is not a step (the step count drives the bias
  // corrections; PyTorch counts per parameter from its first gradient). The refined-mask model's
  // r, whose optimiser is called from the first step but which trains from the second epoch, needs it.
  bool any = false;
  for (const Slot& slot : slots_) any = any || slot.param.grad().defined();
  if (!any) return;
  ++step_;
  double bc1 = 1 - std::pow(opt_.beta1, double(step_));
  double bc2 = 1 - std::pow(opt_.beta2, double(step_));
  kernels::AdamStep s{float(opt_.beta1),        float(opt_.beta2),    float(opt_.eps),
                      float(opt_.weight_decay), float(opt_.lr / bc1), float(std::sqrt(bc2))};
  for (Slot& slot : slots_) {
    Tensor g = slot.param.grad();
    if (!g.defined()) continue;
    ANIMA_CHECK(g.shape() == slot.param.shape() && g.device() == slot.param.device(), "Adam: gradient of '", slot.name,
                "' is ", g.shape().str(), " on ", g.device().str(), ", parameter is ", slot.param.shape().str(), " on ",
                slot.param.device().str());
    kernels::adam_update(slot.param, g, slot.exp_avg, slot.exp_avg_sq, s);
  }
}

void Adam::zero_grad() {
  for (Slot& slot : slots_) slot.param.zero_grad();
}

NamedTensors Adam::state_dict() const {
  NamedTensors out;
  for (const Slot& s : slots_) {
    out.emplace_back(s.name + ".exp_avg", s.exp_avg);
    out.emplace_back(s.name + ".exp_avg_sq", s.exp_avg_sq);
  }
  out.emplace_back("step", Tensor::from_vector<int64_t>({step_}, Shape{}));
  return out;
}

void Adam::load_state_dict(const NamedTensors& state) {
  auto find = [&](const std::string& name) -> const Tensor& {
    for (const auto& [n, t] : state)
      if (n == name) return t;
    ANIMA_FAIL("Adam::load_state_dict: no entry '", name, "' in the saved optimiser state");
  };
  const Tensor& step = find("step");
  ANIMA_CHECK(step.dtype() == DType::I64 && step.numel() == 1, "Adam::load_state_dict: 'step' must be one int64");
  for (Slot& s : slots_) {
    for (Tensor* dst : {&s.exp_avg, &s.exp_avg_sq}) {
      const Tensor& src = find(s.name + (dst == &s.exp_avg ? ".exp_avg" : ".exp_avg_sq"));
      ANIMA_CHECK(src.shape() == dst->shape(), "Adam::load_state_dict: state of '", s.name, "' is ", src.shape().str(),
                  ", parameter is ", dst->shape().str());
      raw::copy_into(*dst, src);
    }
  }
  step_ = step.to_vector<int64_t>()[0];
}

MultiStepLR::MultiStepLR(Adam& opt, std::vector<int> milestones, double gamma)
    : opt_(opt), milestones_(std::move(milestones)), gamma_(gamma), base_lr_(opt.lr()) {}

double MultiStepLR::lr_at(int epoch) const {
  double lr = base_lr_;
  for (int m : milestones_)
    if (epoch >= m) lr *= gamma_;
  return lr;
}

void MultiStepLR::set_epoch(int epoch) { opt_.set_lr(lr_at(epoch)); }

OptimizerGroup::OptimizerGroup(std::vector<int> milestones, double gamma)
    : milestones_(std::move(milestones)), gamma_(gamma) {}

Adam& OptimizerGroup::add(const std::string& name, NamedTensors params, AdamOptions options) {
  auto adam = std::make_unique<Adam>(std::move(params), options);
  auto schedule = std::make_unique<MultiStepLR>(*adam, milestones_, gamma_);
  entries_.push_back({name, std::move(adam), std::move(schedule)});
  return *entries_.back().adam;
}

Adam& OptimizerGroup::operator[](const std::string& name) const {
  std::string names;
  for (const Entry& e : entries_) {
    if (e.name == name) return *e.adam;
    names += (names.empty() ? "" : ", ") + e.name;
  }
  ANIMA_FAIL("optimizer group: no optimiser '", name, "' (it has ", names.empty() ? "none" : names, ")");
}

void OptimizerGroup::zero_grad() {
  for (Entry& e : entries_) e.adam->zero_grad();
}

void OptimizerGroup::step() {
  ANIMA_TRACE("optimizer.step");
  for (Entry& e : entries_) e.adam->step();
}

void OptimizerGroup::set_epoch(int epoch) {
  for (Entry& e : entries_) e.schedule->set_epoch(epoch);
}

std::vector<std::pair<std::string, Adam*>> OptimizerGroup::named() const {
  std::vector<std::pair<std::string, Adam*>> out;
  for (const Entry& e : entries_) out.emplace_back(e.name, e.adam.get());
  return out;
}

}  // namespace anima
