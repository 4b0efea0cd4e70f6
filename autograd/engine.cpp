// The backward engine and the autograd half of Tensor's methods.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "kernels/elementwise.h"
#include "tensor/trace.h"

namespace anima {

namespace {
thread_local bool g_grad_enabled = true;

std::shared_ptr<AutogradMeta>& ensure_meta(const Tensor& t) {
  auto& meta = t.impl()->autograd;
  if (!meta) meta = std::make_shared<AutogradMeta>();
  return meta;
}

// Sum of gradients arriving at one place; never modifies a tensor in place (a gradient may be
// shared by several inputs, e.g. both operands of an add).
void accumulate(Tensor& slot, const Tensor& g) { slot = slot.defined() ? kernels::add(slot, g) : g; }

// Post-order of the nodes reachable from `root` (inputs before the nodes that use them).
std::vector<Node*> topological_order(Node* root) {
  std::vector<Node*> order;
  std::unordered_set<Node*> visited;
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  visited.insert(root);
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const auto& meta = node->inputs[next++];
      Node* child = meta ? meta->grad_fn.get() : nullptr;
      if (child && visited.insert(child).second) stack.push_back({child, 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;
}
}  // namespace

bool is_grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool enabled) { g_grad_enabled = enabled; }

Tensor record(const char* name, const Tensor& out, const std::vector<Tensor>& inputs, BackwardFn backward) {
  if (!is_grad_enabled()) return out;
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return out;
  auto node = std::make_shared<Node>();
  node->name = name;
  for (const Tensor& t : inputs) {
    bool needs = t.defined() && t.requires_grad();
    node->inputs.push_back(needs ? ensure_meta(t) : nullptr);
    node->input_shapes.push_back(t.defined() ? t.shape() : Shape{});
    node->input_devices.push_back(t.defined() ? t.device() : Device::cpu());
  }
  node->backward = std::move(backward);
  out.impl()->requires_grad = true;
  ensure_meta(out)->grad_fn = std::move(node);
  return out;
}

void run_backward(const Tensor& root, const Tensor& grad_in) {
  ANIMA_TRACE("backward");
  ANIMA_CHECK(root.defined(), "backward: called on an undefined tensor");
  ANIMA_CHECK(root.requires_grad(), "backward: tensor of shape ", root.shape().str(),
              " does not require grad (no input of its graph has requires_grad set)");
  Tensor grad = grad_in;
  if (!grad.defined()) {
    ANIMA_CHECK(root.numel() == 1, "backward: a gradient must be given for a non-scalar tensor (shape ",
                root.shape().str(), ")");
    grad = kernels::full(root.shape(), 1.0, DType::F32, root.device());
  }
  ANIMA_CHECK(grad.shape() == root.shape() && grad.device() == root.device(), "backward: gradient ", grad.shape().str(),
              " on ", grad.device().str(), " does not match tensor ", root.shape().str(), " on ", root.device().str());
  NoGradGuard no_grad;  // backward rules are not recorded
  const auto& root_meta = root.impl()->autograd;
  if (!root_meta->grad_fn) {  // backward on a leaf
    accumulate(root_meta->grad, grad);
    return;
  }
  std::vector<Node*> order = topological_order(root_meta->grad_fn.get());
  std::unordered_map<Node*, Tensor> grads;
  grads[order.back()] = grad;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = *it;
    auto found = grads.find(node);
    if (found == grads.end()) continue;  // no gradient flowed into this node
    Tensor g = std::move(found->second);
    grads.erase(found);
    ANIMA_CHECK(node->backward, "backward: the graph through '", node->name,
                "' was already freed by an earlier backward()");
    std::vector<bool> needs;
    for (const auto& m : node->inputs) needs.push_back(m != nullptr);
    std::vector<Tensor> in_grads = node->backward(g, needs);
    node->backward = nullptr;  // frees the tensors the rule saved
    ANIMA_CHECK(in_grads.size() == node->inputs.size(), "backward rule of '", node->name, "' returned ",
                in_grads.size(), " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      const auto& meta = node->inputs[i];
      if (!meta || !in_grads[i].defined()) continue;
      const Tensor& gi = in_grads[i];
      ANIMA_CHECK(gi.shape() == node->input_shapes[i] && gi.device() == node->input_devices[i], "backward rule of '",
                  node->name, "' gave a gradient of shape ", gi.shape().str(), " on ", gi.device().str(), " for input ",
                  i, " of shape ", node->input_shapes[i].str(), " on ", node->input_devices[i].str());
      if (meta->grad_fn)
        accumulate(grads[meta->grad_fn.get()], gi);
      else
        accumulate(meta->grad, gi);
    }
  }
}

// ---- Tensor methods that belong to autograd (declared in tensor/tensor.h) ----

Tensor& Tensor::set_requires_grad(bool value) {
  ANIMA_CHECK(defined(), "set_requires_grad: undefined tensor");
  ANIMA_CHECK(!value || dtype() == DType::F32, "set_requires_grad: only float32 tensors can ",
              "require grad, this one is ", dtype_name(dtype()));
  ANIMA_CHECK(is_leaf(), "set_requires_grad: only leaf tensors can be changed; use detach() ",
              "to cut a computed tensor out of the graph");
  impl_->requires_grad = value;
  if (value) ensure_meta(*this);
  return *this;
}

Tensor Tensor::grad() const { return impl_ && impl_->autograd ? impl_->autograd->grad : Tensor(); }

void Tensor::zero_grad() const {
  if (impl_ && impl_->autograd) impl_->autograd->grad = Tensor();
}

std::shared_ptr<Node> Tensor::grad_fn() const { return impl_ && impl_->autograd ? impl_->autograd->grad_fn : nullptr; }

void Tensor::backward(const Tensor& gradient) const { run_backward(*this, gradient); }

}  // namespace anima
