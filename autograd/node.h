// A node of the recorded graph (micrograd's idea, on tensors): the op's name, the autograd
// records of its inputs, and a closure that maps the gradient of the op's output to gradients of
// its inputs. The closure holds whatever the rule needs (saved tensors, shapes); it is dropped
// right after the node's backward has run, which frees those tensors.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace anima {

// grad: gradient of the op's output; needs[i]: whether input i wants a gradient.
// Returns one tensor per input (undefined where not needed).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad, const std::vector<bool>& needs)>;

struct Node {
  std::string name;
  std::vector<std::shared_ptr<AutogradMeta>> inputs;  // null: input needs no gradient
  std::vector<Shape> input_shapes;
  std::vector<Device> input_devices;
  BackwardFn backward;  // empty once run (graph freed)
};

// Attaches a node for `out` = name(inputs...) when grad mode is on and an input requires grad;
// otherwise returns `out` unchanged. Rules must capture only detached tensors (x.detach()), or
// the graph would hold itself alive.
Tensor record(const char* name, const Tensor& out, const std::vector<Tensor>& inputs, BackwardFn backward);

// Runs backpropagation from `root` with `grad` (see Tensor::backward).
void run_backward(const Tensor& root, const Tensor& grad);

}  // namespace anima
