// Softmax and log-softmax over one dimension (no autograd), numerically stable (the row maximum
// is subtracted first). On the GPU they are composed of the reduction and broadcast kernels (the
// GPU tree reductions); on the CPU one fused pass per step walks a row, or a block of columns, that
// stays in cache, with the composed path's summation order and bits (kernels/softmax.cpp).
#pragma once
#include "tensor/tensor.h"

namespace anima::kernels {

Tensor softmax(const Tensor& x, int dim);
Tensor log_softmax(const Tensor& x, int dim);
// Given y = softmax(x): dx = y * (g - sum(g * y)).
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int dim);
// Given y = log_softmax(x): dx = g - exp(y) * sum(g).
Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int dim);

// Test hook: true sends the CPU through the composed path too (the fused path's oracle). Returns
// the previous setting.
bool set_softmax_composed_cpu(bool on);

}  // namespace anima::kernels
