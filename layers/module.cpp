#include "layers/module.h"

#include <set>
#include <sstream>

namespace anima {

void Module::check_new_name(const std::string& name) const {
  ANIMA_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name(), ": invalid member name '", name,
              "' (non-empty, no dots)");
  for (const auto& [n, t] : params_) ANIMA_CHECK(n != name, type_name(), ": '", name, "' registered twice");
  for (const auto& [n, t] : buffers_) ANIMA_CHECK(n != name, type_name(), ": '", name, "' registered twice");
  for (const auto& [n, m] : children_) ANIMA_CHECK(n != name, type_name(), ": '", name, "' registered twice");
}

void Module::register_parameter(const std::string& name, Tensor* t) {
  check_new_name(name);
  ANIMA_CHECK(t->defined() && t->dtype() == DType::F32, type_name(), ": parameter '", name,
              "' must be a defined float32 tensor");
  t->set_requires_grad(true);
  params_.emplace_back(name, t);
}

void Module::register_buffer(const std::string& name, Tensor* t) {
  check_new_name(name);
  ANIMA_CHECK(t->defined(), type_name(), ": buffer '", name, "' is undefined");
  buffers_.emplace_back(name, t);
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_new_name(name);
  ANIMA_CHECK(m != nullptr, type_name(), ": child '", name, "' is null");
  children_.emplace_back(name, std::move(m));
}

template <class Visit>
void Module::visit(const std::string& prefix, bool params, bool buffers, Visit&& f) const {
  if (params)
    for (const auto& [n, t] : params_) f(prefix + n, t);
  if (buffers)
    for (const auto& [n, t] : buffers_) f(prefix + n, t);
  for (const auto& [n, m] : children_) m->visit(prefix + n + ".", params, buffers, f);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  visit("", true, false, [&](const std::string& n, Tensor* t) { out.emplace_back(n, *t); });
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  visit("", false, true, [&](const std::string& n, Tensor* t) { out.emplace_back(n, *t); });
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  visit("", true, true, [&](const std::string& n, Tensor* t) { out.emplace_back(n, *t); });
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

std::string Module::load_state_dict(const NamedTensors& state, bool strict) {
  std::map<std::string, const Tensor*> given;
  for (const auto& [n, t] : state) given[n] = &t;
  std::vector<std::pair<Tensor*, const Tensor*>> to_copy;
  std::ostringstream missing, mismatched, unexpected;
  int n_missing = 0, n_mismatched = 0, n_unexpected = 0;
  std::set<std::string> used;
  visit("", true, true, [&](const std::string& name, Tensor* t) {
    auto it = given.find(name);
    if (it == given.end()) {
      missing << (n_missing++ ? ", " : "") << name << " " << t->shape().str();
      return;
    }
    used.insert(name);
    const Tensor& src = *it->second;
    if (src.shape() != t->shape() || src.dtype() != t->dtype()) {
      mismatched << (n_mismatched++ ? ", " : "") << name << ": expected " << t->shape().str() << " "
                 << dtype_name(t->dtype()) << ", got " << src.shape().str() << " " << dtype_name(src.dtype());
      return;
    }
    to_copy.emplace_back(t, &src);
  });
  for (const auto& [n, t] : state)
    if (!used.count(n)) unexpected << (n_unexpected++ ? ", " : "") << n << " " << t.shape().str();
  std::ostringstream report;
  if (n_missing) report << n_missing << " missing: " << missing.str() << "\n";
  if (n_unexpected) report << n_unexpected << " unexpected: " << unexpected.str() << "\n";
  if (n_mismatched) report << n_mismatched << " mis-shaped: " << mismatched.str() << "\n";
  ANIMA_CHECK(!strict || report.str().empty(), "load_state_dict (", type_name(), ", strict):\n", report.str());
  for (auto& [dst, src] : to_copy) raw::copy_into(*dst, *src);
  return report.str();
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, m] : children_) m->train(on);
}

void Module::to(Device device) {
  visit("", true, true, [&](const std::string&, Tensor* t) {
    if (t->device() == device) return;
    bool grad = t->requires_grad();
    *t = raw::to_device(*t, device);
    if (grad) t->set_requires_grad(true);
  });
}

void Module::zero_grad() {
  visit("", true, false, [](const std::string&, Tensor* t) { t->zero_grad(); });
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

std::string Module::summary() const {
  std::ostringstream os;
  os << type_name() << "\n";
  visit("", true, true, [&](const std::string& n, Tensor* t) {
    os << "  " << n << " " << t->shape().str() << " " << dtype_name(t->dtype())
       << (t->requires_grad() ? "" : " (buffer)") << "\n";
  });
  os << "  parameters: " << parameter_count() << "\n";
  return os.str();
}

}  // namespace anima
